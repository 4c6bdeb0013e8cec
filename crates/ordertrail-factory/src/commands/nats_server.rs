//! `ordertrail up --broker nats` without `--nats-url`: a `nats-server` from PATH, with
//! JetStream, its store under the data directory, stopped with `up`.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// The port `up` gives its own NATS server.
pub(crate) const PORT: u16 = 4222;

/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running `nats-server`; killed when dropped.
pub(crate) struct NatsServer {
    child: Child,
    /// Its `nats://` URL.
    pub(crate) url: String,
}

impl NatsServer {
    /// Starts `nats-server -js` on `host:PORT`, storing JetStream data in `data_dir/nats`.
    pub(crate) async fn start(host: IpAddr, data_dir: &Path) -> anyhow::Result<Self> {
        if let Err(err) = std::net::TcpListener::bind(SocketAddr::new(host, PORT)) {
            bail!(
                "port {PORT} for nats-server is not free on {host}: {err}. Is a NATS server \
                 running? Give it with --nats-url nats://{host}:{PORT} instead."
            );
        }
        let store = data_dir.join("nats");
        std::fs::create_dir_all(&store)
            .with_context(|| format!("cannot create {}", store.display()))?;
        let child = Command::new("nats-server")
            .arg("-js")
            .arg("-sd")
            .arg(&store)
            .args(["-a", &host.to_string(), "-p", &PORT.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context(
                "--broker nats needs a NATS server: `nats-server` is not on PATH (install it, \
                 e.g. `apt-get install nats-server`, or give --nats-url)",
            )?;
        wait_accepting(SocketAddr::new(host, PORT)).await?;
        Ok(Self {
            child,
            url: format!("nats://{host}:{PORT}"),
        })
    }

    /// Stops the server.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn wait_accepting(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if tokio::time::Instant::now() > deadline {
            bail!("nats-server did not accept connections on {addr} within {READY_WITHIN:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

//! [`NatsServer`]: Debian's `nats-server` with JetStream on a free loopback port, its store in
//! a fresh temporary directory, killed by its pid (and the directory removed) when dropped.
//!
//! A test needing a broker calls [`NatsServer::start`]; [`NatsServer::read`] reads a stream
//! from its start, as a new consumer would. Without `nats-server` on PATH it fails
//! when `CI=true` (CI installs the package: a missing server there is a broken setup, never a
//! pass), and elsewhere returns `None` after saying on stderr why the test did not run.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::{PullConsumer, pull};
use futures_util::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{free_port, loopback, poll};

/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running `nats-server -js`.
#[derive(Debug)]
pub struct NatsServer {
    process: std::process::Child,
    dir: PathBuf,
    /// Its `nats://127.0.0.1:<port>` URL.
    pub url: String,
}

impl NatsServer {
    /// Starts a server for `test`, or `None` when `nats-server` is missing outside CI.
    pub async fn start(test: &str) -> Option<Self> {
        if which("nats-server").is_none() {
            let why = format!(
                "{test}: needs `nats-server` on PATH (apt-get install nats-server); not run"
            );
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("{why}");
            return None;
        }
        for _ in 0..3 {
            if let Some(server) = Self::try_start().await {
                return Some(server);
            }
        }
        panic!("nats-server did not start in 3 attempts");
    }

    /// The first `count` messages of `stream`, read by a fresh ephemeral consumer; panics when
    /// they do not all come within 10 s.
    pub async fn read(&self, stream: &str, count: usize) -> Vec<Message> {
        let client = async_nats::connect(&self.url).await.expect("connects");
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(stream).await.expect("the stream exists");
        let consumer: PullConsumer = stream
            .create_consumer(pull::Config::default())
            .await
            .expect("a reader");
        let messages = consumer.messages().await.expect("reads").take(count);
        let read = tokio::time::timeout(Duration::from_secs(10), messages.collect::<Vec<_>>());
        let read = read.await.expect("every message within 10 s");
        read.into_iter().map(|m| m.expect("a message")).collect()
    }

    async fn try_start() -> Option<Self> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ordertrail-nats-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("creates the JetStream directory");
        let process = Command::new("nats-server")
            .args(["-js", "-sd"])
            .arg(&dir)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let server = Self {
            process,
            dir,
            url: format!("nats://127.0.0.1:{port}"),
        };
        let accepting = poll(READY_WITHIN, Duration::from_millis(50), || {
            std::net::TcpStream::connect(loopback(port)).ok()
        });
        accepting.await.map(|_| server)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.process.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The path of `program` on PATH.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

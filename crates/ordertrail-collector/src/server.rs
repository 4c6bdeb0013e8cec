//! [`Collector`]: the running receiver, a handle to read what it received, and its graceful stop.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ordertrail::web::serve_with;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::CollectorConfig;
use super::received::Received;
use super::router::router;
use super::sink::Sink;

/// How long [`Collector::shutdown`] waits for open connections to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Starting or stopping the collector failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectorError {
    /// The output directory or one of its files cannot be created or opened.
    #[error("cannot open the collector's output directory {}", dir.display())]
    OutDir {
        /// The directory configured.
        dir: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The listener's local address cannot be read.
    #[error("cannot read the collector listener's address")]
    LocalAddr(#[source] io::Error),
    /// The server stopped with an I/O error.
    #[error("the collector's server failed")]
    Serve(#[source] io::Error),
    /// The server task panicked.
    #[error("the collector's server task panicked")]
    Panicked,
    /// Connections were still open after [`SHUTDOWN_GRACE`]; they were cut.
    #[error("the collector did not stop within {SHUTDOWN_GRACE:?}; open connections were cut")]
    ShutdownTimeout,
}

/// A running OTLP receiver. Dropping it stops accepting connections too, but only
/// [`shutdown`](Self::shutdown) waits for the stop and reports how it went.
#[derive(Debug)]
pub struct Collector {
    addr: SocketAddr,
    received: Received,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl Collector {
    /// Opens the outputs of `config` and serves OTLP/gRPC and OTLP/HTTP on `listener`, in a
    /// task of the current Tokio runtime, until [`shutdown`](Self::shutdown), with the
    /// request limits and the connection timeouts of `config`.
    pub async fn start(
        listener: TcpListener,
        config: CollectorConfig,
    ) -> Result<Self, CollectorError> {
        let addr = listener.local_addr().map_err(CollectorError::LocalAddr)?;
        let sink = open_sink(&config)?;
        let received = sink.received();
        let (stop, stopped) = oneshot::channel::<()>();
        let stop_signal = async {
            // Resolves on `shutdown` and when the handle is dropped.
            let _ = stopped.await;
        };
        let server = serve_with(listener, router(sink), stop_signal, config.serve.clone());
        let task = tokio::spawn(server);
        tracing::info!(%addr, out_dir = ?config.out_dir, keep_in_memory = config.keep_in_memory,
            "OTLP collector listening for gRPC and HTTP");
        Ok(Self {
            addr,
            received,
            stop: Some(stop),
            task,
        })
    }

    /// The address the collector listens on: with `127.0.0.1:0`, the port the system chose.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gRPC endpoint for `SpanExporter::builder().with_tonic().with_endpoint(..)`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OTLP/HTTP endpoint of `signal_path` (`/v1/traces` or `/v1/logs`) for
    /// `.with_http().with_endpoint(..)`, which uses the URL as given.
    pub fn http_endpoint(&self, signal_path: &str) -> String {
        format!("http://{}{signal_path}", self.addr)
    }

    /// A handle on what has been received so far; clones share it.
    pub fn received(&self) -> Received {
        self.received.clone()
    }

    /// Stops accepting connections, lets open ones finish (up to [`SHUTDOWN_GRACE`]), and
    /// reports how the server ended.
    pub async fn shutdown(mut self) -> Result<(), CollectorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await {
            Ok(Ok(served)) => served.map_err(CollectorError::Serve),
            Ok(Err(_join)) => Err(CollectorError::Panicked),
            Err(_elapsed) => {
                self.task.abort();
                Err(CollectorError::ShutdownTimeout)
            }
        }
    }
}

fn open_sink(config: &CollectorConfig) -> Result<Sink, CollectorError> {
    Sink::open(config).map_err(|source| CollectorError::OutDir {
        dir: config.out_dir.clone().unwrap_or_default(),
        source,
    })
}

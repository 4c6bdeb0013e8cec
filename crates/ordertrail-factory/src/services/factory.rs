//! [`Factory`]: all five services in this process, each on its own `127.0.0.1:0` listener.
//!
//! For integration tests and benchmarks: real servers, real HTTP between them, one runtime.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
//!
//! let factory = Factory::start(ServiceOptions::default()).await?;
//! let catalog = reqwest::get(format!("{}/catalog", factory.url(ServiceName::Gateway))).await?;
//! factory.stop().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{BuildError, Endpoints, ServiceName, ServiceOptions, build_router};
use ordertrail::web::serve;

/// Starting the factory failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FactoryError {
    /// A loopback listener could not be bound.
    #[error("cannot bind a loopback listener")]
    Bind(#[from] std::io::Error),
    /// A service could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// The running services; [`stop`](Self::stop) shuts them down gracefully.
#[derive(Debug)]
pub struct Factory {
    addrs: HashMap<ServiceName, SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Factory {
    /// Binds a loopback listener per service, wires the services to each other and serves them.
    pub async fn start(options: ServiceOptions) -> Result<Self, FactoryError> {
        let mut listeners = Vec::new();
        for name in ServiceName::ALL {
            listeners.push((name, TcpListener::bind("127.0.0.1:0").await?));
        }
        let addrs: HashMap<_, _> = listeners
            .iter()
            .map(|(name, l)| l.local_addr().map(|a| (*name, a)))
            .collect::<Result<_, _>>()?;
        let url = |name| format!("http://{}", addrs[&name]);
        let peers = Endpoints {
            orders: url(ServiceName::Orders),
            inventory: url(ServiceName::Inventory),
            payments: url(ServiceName::Payments),
            shipping: url(ServiceName::Shipping),
        };
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for (name, listener) in listeners {
            let router = build_router(name, &peers, &options)?;
            tasks.push(tokio::spawn(serve(
                listener,
                router,
                wait_for(stopped.clone()),
            )));
        }
        Ok(Self { addrs, stop, tasks })
    }

    /// The base URL of `name`, like `http://127.0.0.1:40123`.
    pub fn url(&self, name: ServiceName) -> String {
        format!("http://{}", self.addrs[&name])
    }

    /// Stops accepting, lets in-flight requests finish, and waits for all of them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

//! [`serve_worker`]: how a worker serves, and how it drains without failing a request.
//!
//! A plain graceful shutdown stops accepting and at once closes every idle keep-alive
//! connection. A client that sent a request on such a connection a moment earlier sees it
//! reset: a failed request, on every restart. A worker therefore stops in two steps:
//!
//! 1. **Lame duck** ([`LAME_DUCK`]): it stops accepting (queued and new connections go to the
//!    other workers, who share the socket) and answers every request on its open connections
//!    with `Connection: close`, so each client moves on to a new connection by itself.
//! 2. **Graceful shutdown**: connections still open are closed once their request is done;
//!    those idle for the whole lame-duck period are closed.
//!
//! Connections are served by `ordertrail::web::serve_with`, so a worker has the same head-read,
//! idle and request timeouts and the same connection cap as any service: see [`ServeConfig`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Version, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::serve::Listener;
use ordertrail::web::{ServeConfig, serve_with};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::worker::ReadyPipe;

/// How long a draining worker answers on its open connections before closing idle ones.
pub const LAME_DUCK: Duration = Duration::from_millis(500);

/// Serves `router` on the inherited `listener` with [`ServeConfig::default`], tells the master
/// it is accepting through `ready`, and drains in two steps (see the module docs) once
/// `shutdown` resolves. Returns when in-flight requests are done.
pub async fn serve_worker(
    listener: TcpListener,
    ready: ReadyPipe,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_worker_with(listener, ready, router, shutdown, ServeConfig::default()).await
}

/// [`serve_worker`] with the timeouts and the connection cap of `config`.
pub async fn serve_worker_with(
    listener: TcpListener,
    ready: ReadyPipe,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    config: ServeConfig,
) -> io::Result<()> {
    let (drain, draining) = watch::channel(false);
    let router = router.layer(middleware::from_fn(move |req, next| {
        close_when_draining(draining.clone(), req, next)
    }));
    let listener = Draining {
        inner: listener,
        draining: drain.subscribe(),
    };
    let stop = async move {
        shutdown.await;
        let _ = drain.send(true);
        tokio::time::sleep(LAME_DUCK).await;
    };
    let server = serve_with(listener, router, stop, config);
    ready.notify()?;
    server.await
}

/// Adds `Connection: close` to HTTP/1 responses once draining started.
async fn close_when_draining(
    draining: watch::Receiver<bool>,
    req: Request,
    next: Next,
) -> Response {
    let http1 = req.version() < Version::HTTP_2;
    let mut response = next.run(req).await;
    if http1 && *draining.borrow() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A listener that stops accepting once draining starts, leaving queued connections in the
/// shared accept queue for the other workers.
struct Draining {
    inner: TcpListener,
    draining: watch::Receiver<bool>,
}

impl Listener for Draining {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let draining = async {
            if self.draining.wait_for(|d| *d).await.is_err() {
                // Nobody can ask for a drain any more: keep accepting.
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            () = draining => std::future::pending().await,
            conn = Listener::accept(&mut self.inner) => conn,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

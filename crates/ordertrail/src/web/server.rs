//! [`serve`] and [`serve_with`]: run a router on a listener the caller bound, with timeouts and
//! a connection cap, until a shutdown future resolves.
//!
//! # Why not `axum::serve`
//! `axum::serve` runs hyper without a timer, so it has no head-read timeout, and it accepts
//! every connection. A client that opens connections and sends half a request head holds each
//! of them, with its buffers, forever. This accept loop is hyper-util's `auto::Builder` (HTTP/1
//! and HTTP/2 on one port, as with `axum::serve`) with a Tokio timer, a semaphore around
//! `accept`, and an idle watch per connection; the limits are a [`ServeConfig`].
//!
//! Handlers still read [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo): the peer
//! address is put into each request's extensions, where that extractor looks.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use super::limits::ServeConfig;

/// How long an HTTP/2 keep-alive ping may go unanswered before the connection is closed.
const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves `router` on `listener` with [`ServeConfig::default`] until `shutdown` resolves, then
/// stops accepting and lets in-flight requests finish. Binding is the caller's job, so tests can
/// bind `127.0.0.1:0` and a supervisor can pass an inherited socket.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, router, shutdown, ServeConfig::default()).await
}

/// [`serve`] with the timeouts and the connection cap of `config`, on any axum
/// [`Listener`] whose peers are socket addresses.
///
/// Once `shutdown` resolves, the listener is dropped, every open connection finishes its
/// in-flight requests and closes (idle ones at once), and this returns.
///
/// ```no_run
/// use std::time::Duration;
/// use ordertrail::web::{ServeConfig, serve_with, shutdown_signal};
///
/// # async fn example(router: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let config = ServeConfig::default().header_read_timeout(Duration::from_secs(5));
/// serve_with(listener, router, shutdown_signal(), config).await
/// # }
/// ```
pub async fn serve_with<L>(
    mut listener: L,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    config: ServeConfig,
) -> io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let router = with_timeouts(router, &config);
    let builder = Arc::new(connection_builder(&config));
    let open = Arc::new(Semaphore::new(config.max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let next = async {
            // The semaphore is never closed.
            let permit = Arc::clone(&open).acquire_owned().await.ok();
            (permit, listener.accept().await)
        };
        let (permit, (io, peer)) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            next = next => next,
        };
        let conn = Conn {
            builder: Arc::clone(&builder),
            router: router.clone(),
            peer,
            idle_timeout: config.idle_timeout,
            stopping: stopping.clone(),
            _permit: permit,
        };
        tokio::spawn(conn.run(io));
    }
    drop(listener);
    let _ = stop.send(true);
    wait_for_all(&open, config.max_connections).await;
    Ok(())
}

/// Waits until every connection has given its permit back.
async fn wait_for_all(open: &Semaphore, max: usize) {
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = open.acquire_many(all).await;
}

/// The request and body-read timeouts, outermost on the router.
fn with_timeouts(router: Router, config: &ServeConfig) -> Router {
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(RequestBodyTimeoutLayer::new(config.body_read_timeout))
}

/// HTTP/1 with a head-read timeout, HTTP/2 with keep-alive pings; both need the timer.
fn connection_builder(config: &ServeConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.idle_timeout / 2)
        .keep_alive_timeout(PING_TIMEOUT);
    builder
}

/// One accepted connection and what it needs to serve itself.
struct Conn {
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    peer: SocketAddr,
    idle_timeout: Duration,
    stopping: watch::Receiver<bool>,
    /// Given back to the accept loop when the connection ends.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Conn {
    /// Serves the connection until the client closes it, it stays idle past the idle timeout,
    /// or the server stops; the last two close it gracefully.
    async fn run<I>(mut self, io: I)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Activity::new();
        let service = service(self.router.clone(), self.peer, Arc::clone(&activity));
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        loop {
            let idle_left = self.idle_timeout.saturating_sub(activity.idle_for());
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = self.stopping.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(idle_left) => {
                    if activity.idle_for() >= self.idle_timeout {
                        break;
                    }
                }
            }
        }
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// The router as a hyper service that puts the peer address into each request.
fn service(
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let busy = activity.begin();
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await;
            drop(busy);
            response
        }
    })
}

/// Requests in flight on one connection and when the last one ended.
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    last_end: Mutex<Instant>,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            last_end: Mutex::new(Instant::now()),
        })
    }

    /// Counts a request in flight until the returned guard drops.
    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    /// Zero while a request is in flight, else the time since the last one ended.
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        self.last_end
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .elapsed()
    }
}

/// A request in flight; dropping it records the end.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self
            .0
            .last_end
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

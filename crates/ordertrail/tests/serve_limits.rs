//! `web::serve_with` over real sockets on `127.0.0.1`: connections that never finish their
//! request head are closed within the head-read timeout while normal requests get through, the
//! connection cap holds, handlers still see the peer address, and shutdown is graceful.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use ordertrail::web::{ServeConfig, serve_with};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const HEAD_TIMEOUT: Duration = Duration::from_secs(1);
const SLACK: Duration = Duration::from_secs(4);

/// A router that answers with the peer address its handler sees.
fn router() -> Router {
    Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    )
}

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(config: ServeConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let task = tokio::spawn(serve_with(listener, router(), shutdown, config));
    Server { addr, stop, task }
}

/// `GET /peer` on a fresh connection: the body, and the client's own address.
async fn get_peer(addr: SocketAddr) -> (String, SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    let request = format!("GET /peer HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (body.to_owned(), local)
}

/// A connection that sent half a request head and nothing more.
async fn half_head(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let half = format!("GET /peer HTTP/1.1\r\nhost: {addr}\r\nx-slow: ");
    stream.write_all(half.as_bytes()).await.unwrap();
    stream
}

/// Whether the server closed `stream` (EOF or reset) within `limit`.
async fn closed_within(mut stream: TcpStream, limit: Duration) -> bool {
    let mut buf = [0; 1024];
    let until_closed = async {
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                return;
            }
        }
    };
    tokio::time::timeout(limit, until_closed).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_heads_are_closed_and_normal_requests_get_through() {
    let server = start(ServeConfig::default().header_read_timeout(HEAD_TIMEOUT)).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.push(half_head(server.addr).await);
    }
    let (peer, local) = get_peer(server.addr).await;
    assert_eq!(
        peer,
        local.to_string(),
        "ConnectInfo carries the peer address"
    );
    let closes: Vec<_> = slow
        .into_iter()
        .map(|stream| tokio::spawn(closed_within(stream, HEAD_TIMEOUT + SLACK)))
        .collect();
    for close in closes {
        assert!(close.await.unwrap(), "a slow connection was still open");
    }
    assert!(started.elapsed() < HEAD_TIMEOUT + SLACK);
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let config = ServeConfig::default()
        .header_read_timeout(HEAD_TIMEOUT)
        .max_connections(1);
    let server = start(config).await;
    let slow = half_head(server.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    get_peer(server.addr).await;
    let waited = started.elapsed();
    assert!(
        waited >= HEAD_TIMEOUT / 2,
        "served after {waited:?}, beside the slow one"
    );
    drop(slow);
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections() {
    let server = start(ServeConfig::default()).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET /peer HTTP/1.1\r\nhost: {}\r\n\r\n", server.addr);
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0; 1024];
    assert!(idle.read(&mut buf).await.unwrap() > 0);
    server.stop.send(()).unwrap();
    let stopped = tokio::time::timeout(SLACK, server.task).await;
    stopped
        .expect("serve_with did not return")
        .unwrap()
        .unwrap();
    assert!(closed_within(idle, SLACK).await);
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_head_timeout() {
    let server = start(ServeConfig::default().header_read_timeout(HEAD_TIMEOUT)).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET /peer HTTP/1.1\r\nhost: {}\r\n\r\n", server.addr);
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0; 1024];
    assert!(idle.read(&mut buf).await.unwrap() > 0);
    let started = Instant::now();
    assert!(closed_within(idle, HEAD_TIMEOUT + SLACK).await);
    assert!(started.elapsed() >= HEAD_TIMEOUT / 2, "closed too early");
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

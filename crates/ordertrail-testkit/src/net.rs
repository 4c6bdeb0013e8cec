//! Loopback addresses, free ports and bounded waits: every socket a test opens is on
//! 127.0.0.1, and every wait ends.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A port that was free a moment ago: bound on `127.0.0.1:0` and released. Another process may
/// take it in between, so whoever binds it must be ready to retry with a new one.
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` distinct free ports: all bound at once, then released (one by one, [`free_port`] may
/// hand out the same port twice).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind(loopback(0)).expect("bind 127.0.0.1:0"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local address").port())
}

/// Calls `check` every `every` until it returns `Some`; `None` once `timeout` has passed.
pub async fn poll<T>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    poll_async(timeout, every, || std::future::ready(check())).await
}

/// [`poll`] with a `check` that has to wait itself, such as an HTTP request.
pub async fn poll_async<T, F: Future<Output = Option<T>>>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> F,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let held = poll(timeout, Duration::from_millis(50), || check().then_some(())).await;
    assert!(
        held.is_some(),
        "timed out after {timeout:?} waiting for {what}"
    );
}

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

/// The first of `count` consecutive ports that were all free a moment ago, for a process that
/// binds a run of ports itself (`ordertrail up --base-port`). The run lies below the kernel's
/// ephemeral range: outgoing connections and `127.0.0.1:0` binds take their ports from that
/// range, so they cannot take a port of the run between this check and the bind. Runs differ
/// between processes (the start depends on the pid), so tests running at once rarely meet.
pub fn free_port_run(count: u16) -> u16 {
    const LOWEST: u32 = 10_000;
    let ephemeral = ephemeral_start();
    let span = ephemeral.saturating_sub(LOWEST + u32::from(count));
    assert!(
        span >= 10,
        "no room below the ephemeral ports ({ephemeral})"
    );
    let offset = std::process::id().wrapping_mul(10) % span;
    (0..span / 10)
        .map(|i| LOWEST + (offset + 10 * i) % span)
        .filter_map(|base| u16::try_from(base).ok())
        .find(|&base| (0..count).all(|i| TcpListener::bind(loopback(base + i)).is_ok()))
        .unwrap_or_else(|| panic!("no {count} consecutive free ports below {ephemeral}"))
}

/// The first port of the kernel's ephemeral range (Linux's default when it cannot be read).
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_run_is_free_and_below_the_ephemeral_ports() {
        let base = free_port_run(6);
        assert!(u32::from(base) + 6 <= ephemeral_start());
        let bound: Vec<_> = (0..6)
            .map(|i| TcpListener::bind(loopback(base + i)))
            .collect();
        assert!(bound.iter().all(Result::is_ok), "{bound:?}");
    }
}

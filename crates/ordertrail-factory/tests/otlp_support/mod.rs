//! What the `otlp_*` tests share: the real `ordertrail` binary run as four child processes
//! that export to an in-test [`Collector`], and readers for what arrives.
//!
//! Every wait is bounded, every socket is on 127.0.0.1, and every child is killed when its
//! [`Stack`] is dropped, so a failing test leaves no process behind.
//!
//! # Layout
//! - `child`: [`Child`], one service process, SIGKILLed on drop.
//! - `stack`: [`Stack`] and [`StackConfig`], the four services started and health-checked.
//! - `http`: the test's HTTP client, orders and `traceresponse`.
//! - `spans`: finding spans and walking their parents in what the collector received.

#![allow(dead_code, unused_imports, unreachable_pub)] // each test binary uses its own part of the harness

mod child;
mod http;
mod spans;
mod stack;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use child::Child;
pub use http::{Placed, TraceParent, client, get_with_id, place_order, wait_dispatched};
pub use ordertrail_collector::{Collector, CollectorConfig, Received, ReceivedLog, ReceivedSpan};
pub use spans::{CLIENT, SERVER, SpanIndex, server_span, spans_with_request_id};
pub use stack::{SERVICES, Stack, StackConfig, free_ports};

/// The card the payments service approves.
pub const APPROVED_CARD: &str = "4242 4242 4242 4242";

/// How long a service may take to answer `GET /healthz` after it was spawned.
pub const STARTUP: Duration = Duration::from_secs(15);

/// How long telemetry may take to reach the collector.
pub const EXPORT_WAIT: Duration = Duration::from_secs(20);

/// A collector on a port the system chose, keeping everything in memory.
pub async fn start_collector() -> Collector {
    let listener = tokio::net::TcpListener::bind(loopback(0))
        .await
        .expect("bind the collector");
    Collector::start(listener, CollectorConfig::in_memory())
        .await
        .expect("start the collector")
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A port that was free a moment ago: bound on `127.0.0.1:0` and released. Another process may
/// take it in between, so whoever binds it must be ready to retry with a new one.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(loopback(0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Waits until `predicate` holds for what `received` holds; panics after `timeout` with
/// `what` and a summary of what did arrive.
pub async fn wait_until(
    received: &Received,
    what: &str,
    timeout: Duration,
    predicate: impl FnMut(&Received) -> bool,
) {
    if !received.wait_for(predicate, timeout).await {
        panic!(
            "timed out after {timeout:?} waiting for {what}; received {:?}, spans: {:#?}",
            received.counts(),
            spans::summary(&received.spans())
        );
    }
}

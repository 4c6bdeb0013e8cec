//! What the ordertrail tests and benchmarks share, in one place: a log-capturing subscriber,
//! the services in-process or as processes of the real binary, an in-test collector, and
//! bounded waits on free loopback ports.
//!
//! Every socket is on 127.0.0.1, every wait is bounded, and every process a test starts is
//! killed when the value that owns it is dropped, so a failing test leaves nothing behind.
//!
//! # Layout
//! - `logs`: the capturing subscriber and readers of its lines, or of a log file's lines.
//! - `net`: loopback addresses, free ports and bounded polling.
//! - `http`: the test's HTTP client, answers read in full, and the `traceresponse` header.
//! - `orders`: the test cards, placing an order and waiting for its dispatch.
//! - `services`: [`Services`], the four services in-process, and [`Served`], any router.
//! - `binary`: [`Binary`], the real `ordertrail` command without the test's settings.
//! - `child`: [`Child`], one process of the binary, SIGKILLed on drop.
//! - `stack`: [`Stack`], the four services as processes exporting to one OTLP endpoint.
//! - `rss`: [`rss_kib`], a process's resident set size.
//! - `local_run`: [`LocalRun`], the four services writing one directory like `ordertrail up`,
//!   each with settings of its own if asked, and readers of one request's lines.
//! - `collector`: an in-test collector and the spans it received.
//! - `prometheus`: [`Prometheus`], a real Prometheus with exemplar storage scraping the services.
//! - `nats`: [`NatsServer`], a JetStream server on a free port for broker tests.
//! - `traced`: [`Traced`], JSON lines and ended spans in-process, for one-trace tests.
//! - [`cards`]: the scanner for card numbers in any output, and the strings of each output.
//! - [`workers`]: `ordertrail serve --workers N` and a closed-loop load against it.
//! - [`bench`](mod@bench): pinned server processes and a closed-loop load generator.

mod binary;
mod child;
mod collector;
mod http;
mod local_run;
pub mod logs;
mod nats;
mod net;
mod orders;
mod prometheus;
mod rss;
mod services;
mod stack;
mod traced;

pub mod bench;
pub mod cards;
pub mod workers;

pub use binary::Binary;
pub use child::Child;
pub use collector::{
    CLIENT, EXPORT_WAIT, SERVER, SpanIndex, server_span, spans_with_request_id, start_collector,
    wait_until,
};
pub use http::{
    HEADER, REQUEST_TIMEOUT, Reply, TraceParent, assert_uuid_v7, client, client_builder,
    get_with_id, send,
};
pub use local_run::{LINES_WAIT, LocalRun};
pub use logs::{Line, LineExt, LogCursor, lines, raw_logs, read_json_lines, wait_for_line};
pub use nats::NatsServer;
pub use net::{eventually, free_port, free_port_run, free_ports, loopback, poll, poll_async};
pub use orders::{
    APPROVED_CARD, DECLINED_CARD, Placed, order_body, place_order, post_order, wait_dispatched,
};
pub use ordertrail_collector::{Collector, CollectorConfig, Received, ReceivedLog, ReceivedSpan};
pub use prometheus::Prometheus;
pub use rss::rss_kib;
pub use services::{Served, Services};
pub use stack::{SERVICES, STARTUP, Stack, StackConfig};
pub use traced::Traced;

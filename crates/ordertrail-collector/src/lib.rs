//! An embedded OTLP receiver: the collector for runs without Docker, and the receiver tests
//! export to.
//!
//! One TCP port accepts what OpenTelemetry exporters send: OTLP/gRPC (`grpc-tonic`) and
//! OTLP/HTTP with protobuf (`http-proto`) or JSON bodies, gzip-compressed or not, for traces,
//! logs and metrics. Each export request is decoded once and handed to a [`Sink`], which
//!
//! - appends it as one OTLP/JSON line to `<out>/traces.jsonl`, `<out>/otlp-logs.jsonl` or
//!   `<out>/metrics.jsonl` (the
//!   OpenTelemetry Collector `file` exporter's format), when an output directory is set;
//! - keeps it in memory for [`Received`] to return, when asked to (tests).
//!
//! ```no_run
//! use std::time::Duration;
//! use ordertrail_collector::{Collector, CollectorConfig};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let collector = Collector::start(listener, CollectorConfig::in_memory()).await?;
//! // Point an exporter at `collector.grpc_endpoint()` or
//! // `collector.http_endpoint("/v1/traces")`, export, then:
//! let received = collector.received();
//! let arrived = received
//!     .wait_for(|r| !r.spans().is_empty(), Duration::from_secs(10))
//!     .await;
//! assert!(arrived);
//! for span in received.spans() {
//!     println!("{} {} {:?}", span.trace_id(), span.span.name, span.service_name());
//! }
//! collector.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # No feedback
//! The collector writes one `info` line when it starts and at most one `warn` if its files
//! cannot be written; nothing per request. It may run inside a process whose own telemetry is
//! exported to it, and per-request logging would then export itself forever. For the same
//! reason, do not wrap [`router`] in tracing middleware.
//!
//! # Limits
//! A request is counted before it is decoded and refused whole when it holds too much: see
//! [`Limits`] for the limits and their defaults, and the `limits` module for what a client is
//! answered (`413`/`RESOURCE_EXHAUSTED` over a limit, `503`/`UNAVAILABLE` when too many requests
//! run at once). Connections are served by `ordertrail::web::serve_with`, with the head-read,
//! idle and request timeouts and the connection cap of [`CollectorConfig::serve`].
//!
//! # Layout
//! - `config`: [`CollectorConfig`], where received telemetry goes and the limits.
//! - `limits`: [`Limits`] on one request, [`LimitError`], and how refusals are answered.
//! - `scan`: counting a request's items, attributes and depth before decoding it.
//! - `guard`: the middleware capping concurrent requests and checking gRPC messages.
//! - `server`: [`Collector`], the running receiver and its graceful stop; [`CollectorError`].
//! - `router`: [`router()`], gRPC and HTTP merged onto one port, and how that works.
//! - `grpc`: the tonic `TraceService`, `LogsService` and `MetricsService`.
//! - `http`: `POST /v1/traces`, `/v1/logs` and `/v1/metrics`, body decoding and its errors.
//! - `sink`: [`Sink`], where every decoded request goes.
//! - `exposition`: `GET /metrics`, the collector's own counts for Prometheus.
//! - `files`: the OTLP/JSON-lines files and their format.
//! - `received`: [`Received`], the in-memory store, its [`Counts`], and `wait_for`.
//! - `record`: [`ReceivedSpan`] and [`ReceivedLog`], items flattened with their resource.
//! - `attributes`: reading attribute lists: [`attribute_str`], [`attribute_int`], [`hex_id`].

mod attributes;
mod config;
mod exposition;
mod files;
mod grpc;
mod guard;
mod http;
mod limits;
mod received;
mod record;
mod router;
mod scan;
mod server;
mod sink;

#[cfg(test)]
mod tests;

pub use attributes::{attribute, attribute_int, attribute_str, hex_id};
pub use config::CollectorConfig;
pub use exposition::METRICS_ROUTE;
pub use files::{LOGS_FILE, METRICS_FILE, TRACES_FILE};
pub use http::{LOGS_PATH, METRICS_PATH, TRACES_PATH};
pub use limits::{LimitError, Limits, MAX_MESSAGE_SIZE};
pub use received::{Counts, Received};
pub use record::{ReceivedLog, ReceivedSpan};
pub use router::router;
pub use server::{Collector, CollectorError, SHUTDOWN_GRACE};
pub use sink::{Sink, SinkError};

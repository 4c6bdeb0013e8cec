//! Process-wide telemetry: log lines, spans and log records, set up by one call and flushed by
//! one guard.
//!
//! ```no_run
//! # #[tokio::main] async fn main() {
//! use std::time::Duration;
//! use ordertrail::telemetry::{self, OtlpProtocol, TelemetryConfig};
//!
//! let config = TelemetryConfig::new("gateway").otlp_endpoint("http://127.0.0.1:4317", OtlpProtocol::Grpc);
//! let guard = telemetry::init(&config).expect("telemetry");
//! tracing::info!("serving");
//! for err in guard.shutdown(Duration::from_secs(5)) {
//!     eprintln!("telemetry: {err}");
//! }
//! # }
//! ```
//!
//! With no endpoint, nothing is exported, yet spans are still made: log lines carry
//! `trace_id`/`span_id` and outgoing calls carry `traceparent`.
//!
//! # Layout
//! - `config`: [`TelemetryConfig`] and its parts.
//! - `resource`: the resource attributes every span and record carries.
//! - `traces`, `logs`: the two OpenTelemetry providers and their OTLP exporters.
//! - `counting`: [`ExportCounters`], bounded queues whose drops and failures are counted.
//! - `report`: the periodic warning while export loses data.
//! - `init`: [`init()`] and the [`TelemetryGuard`] it returns.

mod config;
mod counting;
mod init;
mod logs;
mod report;
mod resource;
mod traces;

pub use config::{
    BatchSettings, LogFormat, OtlpProtocol, SamplerChoice, TelemetryConfig, signal_endpoints,
};
pub use counting::{ExportCounters, ExportSnapshot};
pub use init::{TelemetryError, TelemetryGuard, init};
pub use resource::NAMESPACE;

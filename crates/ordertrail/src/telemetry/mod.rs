//! Process-wide telemetry: log lines, spans and log records, set up by one call and flushed by
//! one guard.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ordertrail::telemetry::{self, TelemetryConfig};
//!
//! // OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, RUST_LOG… as every OpenTelemetry SDK reads them.
//! let config = TelemetryConfig::from_env("checkout", env!("CARGO_PKG_VERSION"))?;
//! let telemetry = telemetry::init(&config)?;
//! tracing::info!("serving");
//! for err in telemetry.shutdown().await {
//!     eprintln!("telemetry: {err}");
//! }
//! # Ok(()) }
//! ```
//!
//! Teams with a subscriber of their own compose [`layers()`] into it instead of calling
//! [`init()`].
//!
//! With no endpoint, nothing is exported, yet spans are still made: log lines carry
//! `trace_id`/`span_id` and outgoing calls carry `traceparent`.
//!
//! # Layout
//! - `config`: [`TelemetryConfig`] and its parts.
//! - `resource`: the resource attributes every span and record carries.
//! - `traces`: the OpenTelemetry tracer provider and its OTLP exporter.
//! - `logs`: the export of log records (the library's own batch, no SDK logger).
//! - `wire`: the OTLP encoding and transport of spans and log records.
//! - `meters`: the meter provider exporting [`crate::metrics`] over OTLP, when configured.
//! - `counting`: [`ExportCounters`], bounded queues whose drops and failures are counted.
//! - `redacting`: the redaction policy on every string of every exported span ([`redact_span`]).
//! - `report`: the periodic warning while export loses data.
//! - `env`: [`TelemetryConfig::from_env`] and [`apply_env`], the standard `OTEL_*` variables.
//! - `exporter_crates`: the crates the export is made of, never exported themselves.
//! - `flight`: the flight recorder's layer and the outputs it replays into.
//! - `recorder_env`: the flight recorder's `ORDERTRAIL_*` variables.
//! - `init`: [`init()`], which installs the subscriber, and [`layers()`], to compose your own.
//! - `guard`: [`TelemetryGuard`], which flushes on `shutdown().await` or on drop.

mod config;
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
mod counting;
#[cfg(feature = "env")]
mod env;
mod exporter_crates;
mod flight;
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
mod gate;
mod guard;
mod init;
pub(crate) mod logs;
mod meters;
#[cfg(feature = "env")]
mod recorder_env;
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
mod redacting;
mod report;
mod resource;
mod traces;
#[cfg(feature = "otlp")]
pub(crate) mod wire;

/// The sender of one signal's export requests to `endpoint`, on the process's export runtime.
#[cfg(feature = "otlp")]
fn wire_sender(
    config: &TelemetryConfig,
    endpoint: &str,
    signal: wire::Signal,
) -> Result<wire::Sender, TelemetryError> {
    let runtime = wire::ExportRuntime::shared().map_err(TelemetryError::ExportThread)?;
    let target = wire::Target {
        signal,
        protocol: config.protocol,
        endpoint,
        headers: &config.otlp_headers,
        timeout: config.batch.export_timeout,
    };
    wire::Sender::new(&target, runtime).map_err(|err| TelemetryError::Endpoint {
        signal: signal.name(),
        reason: err.to_string(),
    })
}

pub use config::{
    BatchSettings, LogFormat, OtlpProtocol, SamplerChoice, TelemetryConfig, signal_endpoints,
};
pub use counting::{ExportCounters, ExportSnapshot};
#[cfg(feature = "env")]
pub use env::{EnvError, apply_env};
pub(crate) use exporter_crates::EXPORTER_CRATES;
#[cfg(feature = "otlp")]
pub(crate) use exporter_crates::from_the_exporter;
pub use guard::{DROP_BUDGET, TelemetryGuard};
pub use init::{Layers, TelemetryError, init, layers};
#[cfg(feature = "env")]
pub use recorder_env::{RECORDER_VARIABLES, RecorderEnvError};
pub use redacting::redact_span;

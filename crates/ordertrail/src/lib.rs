//! # ordertrail
//!
//! One request traceable end to end in axum/tokio services. Every request carries a
//! **correlation id** (`X-Request-ID`), accepted from the client when it is safe and generated
//! (UUID v7) otherwise. It lives in a tokio task-local and in the request's tracing span, so any
//! code reads it with [`correlation::current()`], also in work spawned with
//! [`correlation::spawn`]. It reaches every JSON log line (top-level `request_id`, `trace_id`,
//! `span_id`), every outgoing reqwest call (`x-request-id` plus W3C `traceparent`,
//! `tracestate`, `baggage`), and the OTLP export of spans and log records.
//!
//! # Layout
//! - [`correlation`]: the request id, its task-local scope, and the server middleware.
//! - [`logging`]: the JSON, human and OTLP log layers, their outputs, and the panic hook.
//! - [`telemetry`]: setup from a config or the environment, the layers to compose, and the guard.
//! - [`outgoing`]: the reqwest client that propagates the id and trace context and logs each call.
//! - [`propagation`]: W3C Trace Context and Baggage in and out; the edge trust policy.
//! - [`web`]: serving a router with the standard middleware and a graceful shutdown.
//! - [`card`]: card numbers: Luhn, last four, and the redaction every output goes through.
//!
//! # Features
//! - `axum` (default): [`correlation::CorrelationLayer`] and [`web`].
//! - `reqwest` (default): [`outgoing`].
//! - `otlp` (default): OTLP export of spans and log records.
//! - `env` (default): `TelemetryConfig::from_env`, the standard `OTEL_*` variables.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod card;
pub mod correlation;
pub mod logging;
#[cfg(feature = "reqwest")]
pub mod outgoing;
pub mod propagation;
pub mod telemetry;
#[cfg(feature = "axum")]
pub mod web;

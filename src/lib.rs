//! # ordertrail
//!
//! One request, traceable end to end. A factory of orders in four small axum services —
//! gateway, orders, inventory, payments — where every request carries a correlation id that
//! reaches every log line, every outgoing call and every span.
//!
//! # Layout
//! - [`correlation`]: the request id, its task-local scope, and the server middleware.
//! - [`logging`]: the JSON-lines layer, its outputs, and the panic hook.
//! - [`telemetry`]: one-call setup of the process's subscriber, and its guard.
//! - [`outgoing`]: the reqwest client that propagates the id and trace context and logs each call.
//! - [`propagation`]: W3C Trace Context and Baggage in and out; the edge trust policy.
//! - [`web`]: what services share: errors, JSON bodies, middleware stack, serving.
//! - [`card`]: card numbers: Luhn, last four, redaction.
//! - [`collector`]: an embedded OTLP receiver (gRPC and HTTP) writing OTLP-JSON lines.
//! - [`services`]: the four services, each a `router(state)`.
//! - [`supervisor`]: a master process that binds once and supervises N worker processes.
//! - [`journey`]: one request id followed across services: span waterfall and its log lines.
//! - [`load`]: the load generator: orders at a rate or concurrency, latency histogram, summary.

#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod card;
pub mod collector;
pub mod correlation;
pub mod journey;
pub mod load;
pub mod logging;
pub mod outgoing;
pub mod propagation;
pub mod services;
pub mod supervisor;
pub mod telemetry;
pub mod web;

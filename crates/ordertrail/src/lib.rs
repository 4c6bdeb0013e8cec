#![doc = include_str!("../README.md")]
//!
//! # Layout
//! - [`correlation`]: the request id, its task-local scope, and the server middleware.
//! - [`logging`]: the JSON, human and OTLP log layers, their outputs, and the panic hook.
//! - [`telemetry`]: setup from a config or the environment, the layers to compose, and the guard.
//! - [`metrics`]: RED metrics with exemplars from the request and client spans; `/metrics`.
//! - [`outgoing`]: the reqwest client that propagates the id and trace context and logs each call.
//! - [`propagation`]: W3C Trace Context and Baggage in and out; the edge trust policy.
//! - [`recorder`]: the flight recorder: the `DEBUG` detail of failed or slow requests only.
//! - [`web`]: serving a router with the standard middleware and a graceful shutdown.
//! - [`redact`]: the redaction policy every string of every output passes through: log lines,
//!   OTLP log records and exported spans, error bodies, panic messages.
//! - [`card`]: card numbers: Luhn, last four, masking (the default redaction).

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The project README's Rust examples, compiled as doctests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ProjectReadme;

pub mod card;
pub mod correlation;
mod directives;
mod hex;
pub mod logging;
pub mod metrics;
#[cfg(feature = "reqwest")]
pub mod outgoing;
pub mod propagation;
pub mod recorder;
pub mod redact;
pub mod telemetry;
mod threads;
#[cfg(feature = "axum")]
pub mod web;

//! The correlation id: one value that names a request everywhere it goes.
//!
//! A request arrives with an `X-Request-ID` header, or without one. [`CorrelationLayer`] accepts
//! the header when it is safe ([`RequestId::parse`]), otherwise makes a fresh UUID v7
//! ([`MakeRequestUuidV7`]), and then runs the rest of the request inside
//!
//! - a `tokio::task_local!` scope, so [`current()`] finds the id from any code of the request,
//! - a tracing span with a `request_id` field, so every log line written inside carries it.
//!
//! The scope ends with the request: outside it, [`current()`] is `None`, the way a Python
//! `ContextVar` is `reset()` when the request is over. `tokio::spawn` does not inherit
//! task-locals, so work that outlives the request is started with [`spawn`] or
//! [`spawn_blocking`], which carry both the id and the span along.
//!
//! # Layout
//! - `request_id`: the [`RequestId`] value type and its validation.
//! - `head`: [`RequestHead`], the borrowed request head the hooks see.
//! - `make`: [`MakeRequestId`], how a missing or hostile id is replaced.
//! - `context`: the task-local, [`current()`], [`scope`], [`spawn`] and [`spawn_blocking`].
//! - `layer`: [`CorrelationLayer`], the tower middleware for any axum `Router`.
//! - `address`: a client's IP address as text for the request span.
//! - `span`: [`MakeSpan`], the request span; [`OnCompletion`], its completion event; and
//!   [`ErrorMessage`].

#[cfg(feature = "axum")]
mod address;
mod context;
mod head;
#[cfg(feature = "axum")]
mod layer;
mod make;
mod request_id;
#[cfg(feature = "axum")]
mod span;

pub use context::{current, scope, spawn, spawn_blocking};
pub use head::RequestHead;
#[cfg(feature = "axum")]
pub use layer::{Correlation, CorrelationLayer, ResponseFuture};
pub use make::{MakeRequestId, MakeRequestUuidV7};
pub use request_id::{DEFAULT_HEADER, InvalidRequestId, MAX_LEN, RequestId};
#[cfg(feature = "axum")]
pub use span::{
    Completion, DefaultMakeSpan, DefaultOnCompletion, ErrorMessage, MakeSpan, OnCompletion,
};

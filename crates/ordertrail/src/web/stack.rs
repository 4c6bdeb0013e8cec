//! [`instrument`]: the middleware every service router gets, in the right order.

use std::any::Any;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use http::StatusCode;

use super::error_response;
use crate::correlation::CorrelationLayer;

/// Largest request body accepted, in bytes (64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Adds `GET /healthz` and the standard middleware to `router`, outermost first:
/// 1. `correlation` (a [`CorrelationLayer`]) — request id, server span, task-local scope, echo,
///    completion event;
/// 2. `CatchPanicLayer` — a panic becomes a 500 JSON error inside the request's scope;
/// 3. the body limit, enforced by the extractors as a 413.
pub fn instrument(router: Router, correlation: CorrelationLayer) -> Router {
    router
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(correlation)
}

async fn healthz() -> &'static str {
    "ok"
}

/// The response for a panicked handler. The panic itself was logged by the panic hook.
fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        "handler panicked".into(),
    )
}

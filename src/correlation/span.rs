//! The request span and the one completion event logged per request.

use std::borrow::Cow;
use std::time::Duration;

use axum::extract::MatchedPath;
use http::{Request, Response, StatusCode};
use tracing::{Level, Span, event, field};

use super::RequestId;

/// A response extension carrying what went wrong, for the completion event's `error` field.
///
/// Error responses insert it instead of logging on their own, so each failed request is logged
/// exactly once, by the middleware, with its status and latency.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub Cow<'static, str>);

/// Opens the span every event of a request is written in.
///
/// Its fields reach every log line of the request: `service` (when configured), `method`,
/// `route` (the axum route template, when one matched), `path` and `request_id`.
pub(crate) fn request_span<B>(req: &Request<B>, id: &RequestId, service: Option<&str>) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let span = tracing::info_span!(
        "request",
        service = field::Empty,
        method = %req.method(),
        route = field::Empty,
        path = req.uri().path(),
        request_id = %id,
    );
    if let Some(service) = service {
        span.record("service", service);
    }
    if let Some(route) = route {
        span.record("route", route);
    }
    span
}

/// Logs the completion event inside the request span: status, latency and any error.
pub(crate) fn record_completion<B>(res: &Response<B>, latency: Duration) {
    let status = res.status();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let error = res.extensions().get::<ErrorMessage>().map(|e| e.0.as_ref());
    match level_for(status) {
        Level::ERROR => completion!(Level::ERROR, status, latency_ms, error),
        Level::WARN => completion!(Level::WARN, status, latency_ms, error),
        _ => completion!(Level::INFO, status, latency_ms, error),
    }
}

/// 5xx is an error of ours, 4xx a warning about the caller's input, the rest information.
fn level_for(status: StatusCode) -> Level {
    if status.is_server_error() {
        Level::ERROR
    } else if status.is_client_error() {
        Level::WARN
    } else {
        Level::INFO
    }
}

/// `tracing::event!` needs a constant level; this expands one call per level.
macro_rules! completion {
    ($level:expr, $status:expr, $latency_ms:expr, $error:expr) => {
        event!(
            $level,
            status = $status.as_u16(),
            latency_ms = $latency_ms,
            error = $error,
            "request completed"
        )
    };
}
use completion;

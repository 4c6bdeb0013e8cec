//! The request span and the one completion event logged per request.

use std::borrow::Cow;
use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath};
use http::header::{HOST, USER_AGENT};
use http::{Request, Response, StatusCode, Version};
use tracing::{Level, Span, event, field};

use super::RequestId;

/// A response extension carrying what went wrong, for the completion event's `error` field.
///
/// Error responses insert it instead of logging on their own, so each failed request is logged
/// exactly once, by the middleware, with its status and latency.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub Cow<'static, str>);

/// Opens the server span every event of a request is written in.
///
/// It follows the OpenTelemetry HTTP server conventions (name `{method} {route}`, kind server,
/// `http.request.method`, `http.route`, `url.path`, `url.scheme`, `server.address`,
/// `server.port`, `client.address`, `user_agent.original`, `network.protocol.version`, and
/// `http.response.status_code` once answered) and carries `request.id`, so a tracing backend
/// finds every service's span of one order by it. Log lines show the few a reader wants under
/// short names (`method`, `route`, `path`, `status`), plus `service` and the top-level
/// `request_id`.
pub(crate) fn request_span<B>(req: &Request<B>, id: &RequestId, service: Option<&str>) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let method = req.method().as_str();
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    };
    let (host, port) = host_and_port(req);
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok());
    tracing::info_span!(
        "request",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = field::Empty,
        service,
        http.request.method = method,
        http.route = route,
        url.path = req.uri().path(),
        url.scheme = "http",
        server.address = host,
        server.port = port,
        client.address = client,
        user_agent.original = user_agent,
        network.protocol.version = protocol_version(req.version()),
        http.response.status_code = field::Empty,
        error.type = field::Empty,
        request.id = id.as_str(),
    )
}

/// The `Host` header split into name and port.
fn host_and_port<B>(req: &Request<B>) -> (Option<&str>, Option<i64>) {
    let Some(host) = req.headers().get(HOST).and_then(|v| v.to_str().ok()) else {
        return (None, None);
    };
    match host.rsplit_once(':') {
        Some((name, port)) => (Some(name), port.parse().ok()),
        None => (Some(host), None),
    }
}

fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Records the outcome on the span and logs the completion event inside it: status, latency
/// and any error.
pub(crate) fn record_completion<B>(span: &Span, res: &Response<B>, latency: Duration) {
    let status = res.status();
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "error");
        span.record("error.type", status.as_str());
    }
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

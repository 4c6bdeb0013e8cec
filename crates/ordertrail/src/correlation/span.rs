//! The request span ([`MakeSpan`]) and the one completion event logged per request
//! ([`OnCompletion`]): the two hooks where teams differ, each with a default.

use std::borrow::Cow;
use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath};
use http::header::{HOST, USER_AGENT};
use http::{Response, StatusCode, Version};
use tracing::{Level, Span, event, field};

use super::{RequestHead, RequestId};

/// A response extension carrying what went wrong, for the completion event's `error` field.
///
/// Error responses insert it instead of logging on their own, so each failed request is logged
/// exactly once, by the middleware, with its status and latency.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub Cow<'static, str>);

/// Makes the server span every event of a request is written in. The layer enters it for
/// every poll of the request, records `http.response.status_code` (and, for 5xx,
/// `otel.status_code` and `error.type`) on it, and calls [`OnCompletion`] inside it. Declare
/// those fields as `field::Empty` in a span of your own to keep them.
///
/// ```
/// use ordertrail::correlation::{CorrelationLayer, RequestHead, RequestId};
/// use tracing::field;
///
/// let layer = CorrelationLayer::new().make_span(
///     |head: &RequestHead<'_>, id: &RequestId, _service: Option<&str>| {
///         tracing::info_span!(
///             "request",
///             otel.kind = "server",
///             http.request.method = head.method.as_str(),
///             http.response.status_code = field::Empty,
///             request_id = id.as_str(),
///             tenant = head.headers.get("x-tenant").and_then(|v| v.to_str().ok()),
///         )
///     },
/// );
/// # let _ = layer;
/// ```
pub trait MakeSpan: Clone + Send + Sync + 'static {
    /// The span of the request whose head is `request`, with id `id`, served by `service`.
    fn make_span(&self, request: &RequestHead<'_>, id: &RequestId, service: Option<&str>) -> Span;
}

impl<F> MakeSpan for F
where
    F: Fn(&RequestHead<'_>, &RequestId, Option<&str>) -> Span + Clone + Send + Sync + 'static,
{
    fn make_span(&self, request: &RequestHead<'_>, id: &RequestId, service: Option<&str>) -> Span {
        self(request, id, service)
    }
}

/// The default request span, following the OpenTelemetry HTTP server conventions.
///
/// It follows the OpenTelemetry HTTP server conventions (name `{method} {route}`, kind server,
/// `http.request.method`, `http.route`, `url.path`, `url.scheme`, `server.address`,
/// `server.port`, `client.address`, `user_agent.original`, `network.protocol.version`, and
/// `http.response.status_code` once answered) and carries `request.id`, so a tracing backend
/// finds every service's span of one order by it. Log lines show the few a reader wants under
/// short names (`method`, `route`, `path`, `status`), plus `service` and the top-level
/// `request_id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultMakeSpan;

impl MakeSpan for DefaultMakeSpan {
    fn make_span(&self, request: &RequestHead<'_>, id: &RequestId, service: Option<&str>) -> Span {
        request_span(request, id, service)
    }
}

fn request_span(req: &RequestHead<'_>, id: &RequestId, service: Option<&str>) -> Span {
    let route = req.extensions.get::<MatchedPath>().map(MatchedPath::as_str);
    let method = req.method.as_str();
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    };
    let (host, port) = host_and_port(req);
    let client = req
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = req.headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    tracing::info_span!(
        "request",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = field::Empty,
        service,
        http.request.method = method,
        http.route = route,
        url.path = req.uri.path(),
        url.scheme = "http",
        server.address = host,
        server.port = port,
        client.address = client,
        user_agent.original = user_agent,
        network.protocol.version = protocol_version(req.version),
        http.response.status_code = field::Empty,
        error.type = field::Empty,
        request.id = id.as_str(),
    )
}

/// The `Host` header split into name and port.
fn host_and_port<'a>(req: &RequestHead<'a>) -> (Option<&'a str>, Option<i64>) {
    let Some(host) = req.headers.get(HOST).and_then(|v| v.to_str().ok()) else {
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

/// What the completion hook is told about a finished request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Completion<'a> {
    /// The response status.
    pub status: StatusCode,
    /// From the request's arrival to its response head.
    pub latency: Duration,
    /// What went wrong, from an [`ErrorMessage`] response extension.
    pub error: Option<&'a str>,
    /// The request's span (entered while the hook runs).
    pub span: &'a Span,
    /// The response headers.
    pub headers: &'a http::HeaderMap,
}

/// Logs, or otherwise reports, a finished request. Called once per request, inside its span,
/// when the response head is ready.
///
/// ```
/// use ordertrail::correlation::{Completion, CorrelationLayer};
///
/// // Only failures, at a level of our choosing.
/// let layer = CorrelationLayer::new().on_completion(|done: &Completion<'_>| {
///     if done.status.is_server_error() {
///         tracing::error!(status = done.status.as_u16(), error = done.error, "request failed");
///     }
/// });
/// # let _ = layer;
/// ```
pub trait OnCompletion: Clone + Send + Sync + 'static {
    /// Reports `completion`.
    fn on_completion(&self, completion: &Completion<'_>);
}

impl<F> OnCompletion for F
where
    F: Fn(&Completion<'_>) + Clone + Send + Sync + 'static,
{
    fn on_completion(&self, completion: &Completion<'_>) {
        self(completion)
    }
}

/// The default: one `request completed` event with `status`, `latency_ms` and any `error`, at
/// `ERROR` for 5xx, `WARN` for 4xx, `INFO` otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultOnCompletion;

impl OnCompletion for DefaultOnCompletion {
    fn on_completion(&self, done: &Completion<'_>) {
        let (status, error) = (done.status, done.error);
        let latency_ms = done.latency.as_secs_f64() * 1000.0;
        match level_for(status) {
            Level::ERROR => completion!(Level::ERROR, status, latency_ms, error),
            Level::WARN => completion!(Level::WARN, status, latency_ms, error),
            _ => completion!(Level::INFO, status, latency_ms, error),
        }
    }
}

/// Records the outcome on the span, then calls `hook` inside it.
pub(crate) fn record_completion<B>(
    span: &Span,
    res: &Response<B>,
    latency: Duration,
    hook: &impl OnCompletion,
) {
    let status = res.status();
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "error");
        span.record("error.type", status.as_str());
    }
    let error = res.extensions().get::<ErrorMessage>().map(|e| e.0.as_ref());
    hook.on_completion(&Completion {
        status,
        latency,
        error,
        span,
        headers: res.headers(),
    });
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

//! The request span ([`MakeSpan`]) and the one completion event logged per request
//! ([`OnCompletion`]): the two hooks where teams differ, each with a default.

use std::borrow::Cow;
use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath};
use http::header::{HOST, USER_AGENT};
use http::{Response, StatusCode, Version};
use tracing::{Level, Span, event, field};

use super::address::AddressText;
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
    let name = span_name(method, route);
    let (host, port) = host_and_port(req);
    let client = req
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| AddressText::of(c.0.ip()));
    let client = client.as_ref().map(AddressText::as_str);
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

/// `{method} {route}`, or the method alone when no route matched.
fn span_name(method: &str, route: Option<&str>) -> String {
    let Some(route) = route else {
        return method.to_owned();
    };
    let mut name = String::with_capacity(method.len() + 1 + route.len());
    name.push_str(method);
    name.push(' ');
    name.push_str(route);
    name
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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex, PoisonError};

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::Request;
    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry::{KeyValue, Value};
    use opentelemetry_sdk::trace::SpanData;
    use tower::{Layer as _, ServiceExt, service_fn};
    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, SubscriberExt};

    use super::*;
    use crate::correlation::CorrelationLayer;
    use crate::propagation::tests::{enable_every_callsite, traced};

    fn attribute(span: &SpanData, key: &str) -> Option<Value> {
        let found = span.attributes.iter().find(|kv| kv.key.as_str() == key);
        found.map(|kv: &KeyValue| kv.value.clone())
    }

    fn text(span: &SpanData, key: &str) -> Option<String> {
        attribute(span, key).map(|v| v.as_str().into_owned())
    }

    async fn order(axum::extract::Path(id): axum::extract::Path<String>) -> String {
        tracing::info!("looking order {id} up");
        id
    }

    #[tokio::test]
    async fn the_default_span_follows_the_http_server_conventions() {
        let (_guard, ended) = traced();
        let app = Router::new()
            .route("/orders/{id}", get(order))
            .layer(CorrelationLayer::new().service("orders"));
        let mut req = Request::get("/orders/7")
            .header("host", "shop.example:8443")
            .header("user-agent", "curl/8.5")
            .header("x-request-id", "order-7")
            .body(Body::empty())
            .unwrap();
        let client = SocketAddr::from(([192, 168, 1, 20], 50_000));
        req.extensions_mut().insert(ConnectInfo(client));
        let Ok(res) = app.oneshot(req).await;
        assert_eq!(res.status(), StatusCode::OK);

        let span = ended.named("GET /orders/{id}");
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(span.status, Status::Unset);
        let expected = [
            ("http.request.method", "GET"),
            ("http.route", "/orders/{id}"),
            ("url.path", "/orders/7"),
            ("url.scheme", "http"),
            ("server.address", "shop.example"),
            ("client.address", "192.168.1.20"),
            ("user_agent.original", "curl/8.5"),
            ("network.protocol.version", "1.1"),
            ("request.id", "order-7"),
            ("service", "orders"),
        ];
        for (key, value) in expected {
            assert_eq!(text(&span, key).as_deref(), Some(value), "{key}");
        }
        assert_eq!(attribute(&span, "server.port"), Some(Value::I64(8443)));
        assert_eq!(
            attribute(&span, "http.response.status_code"),
            Some(Value::I64(200))
        );
        assert_eq!(attribute(&span, "error.type"), None);
        let events: Vec<_> = span.events.iter().map(|e| e.name.to_string()).collect();
        assert_eq!(events, ["looking order 7 up", "request completed"]);
    }

    #[tokio::test]
    async fn a_5xx_marks_the_default_span_an_error_with_its_type() {
        let (_guard, ended) = traced();
        let failing = service_fn(|_req: Request<()>| async {
            let mut res = Response::new(());
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            Ok::<_, Infallible>(res)
        });
        let service = CorrelationLayer::new().layer(failing);
        let Ok(_res) = service
            .oneshot(Request::post("/charges").body(()).unwrap())
            .await;

        let span = ended.named("POST");
        assert!(
            matches!(span.status, Status::Error { .. }),
            "{:?}",
            span.status
        );
        assert_eq!(text(&span, "error.type").as_deref(), Some("503"));
        assert_eq!(
            attribute(&span, "http.response.status_code"),
            Some(Value::I64(503))
        );
    }

    #[tokio::test]
    async fn a_custom_span_is_the_one_the_request_runs_in() {
        let (_guard, ended) = traced();
        let make_span = |head: &RequestHead<'_>, id: &RequestId, _service: Option<&str>| {
            let tenant = head.headers.get("x-tenant").and_then(|v| v.to_str().ok());
            tracing::info_span!(
                "checkout",
                otel.kind = "server",
                tenant,
                request_id = id.as_str(),
                http.response.status_code = field::Empty,
            )
        };
        let app = Router::new()
            .route("/orders/{id}", get(order))
            .layer(CorrelationLayer::new().make_span(make_span));
        let req = Request::get("/orders/9")
            .header("x-tenant", "acme")
            .header("x-request-id", "order-9")
            .body(Body::empty())
            .unwrap();
        let Ok(res) = app.oneshot(req).await;
        assert_eq!(res.headers()["x-request-id"], "order-9");

        let span = ended.named("checkout");
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(text(&span, "tenant").as_deref(), Some("acme"));
        assert_eq!(text(&span, "request_id").as_deref(), Some("order-9"));
        assert_eq!(
            attribute(&span, "http.response.status_code"),
            Some(Value::I64(200)),
            "a declared status field is recorded"
        );
        assert_eq!(attribute(&span, "http.route"), None, "no default field");
        let events: Vec<_> = span.events.iter().map(|e| e.name.to_string()).collect();
        assert_eq!(events, ["looking order 9 up", "request completed"]);
    }

    /// Every event seen: its level and the fields the completion event has.
    #[derive(Clone, Default)]
    struct Events(Arc<Mutex<Vec<(Level, Fields)>>>);

    #[derive(Debug, Clone, Default, PartialEq)]
    struct Fields {
        message: String,
        status: Option<u64>,
        error: Option<String>,
    }

    impl Visit for Fields {
        fn record_u64(&mut self, field: &Field, value: u64) {
            if field.name() == "status" {
                self.status = Some(value);
            }
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "error" {
                self.error = Some(value.to_owned());
            }
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.message = format!("{value:?}");
            }
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
        fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
            let mut fields = Fields::default();
            event.record(&mut fields);
            let level = *event.metadata().level();
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((level, fields));
        }
    }

    /// Answers with the status in the path (`/503`), and an [`ErrorMessage`] for errors.
    async fn status_from_path(req: Request<()>) -> Result<Response<()>, Infallible> {
        let status: u16 = req.uri().path()[1..].parse().unwrap();
        let mut res = Response::new(());
        *res.status_mut() = StatusCode::from_u16(status).unwrap();
        if status >= 400 {
            res.extensions_mut().insert(ErrorMessage("it broke".into()));
        }
        Ok(res)
    }

    #[tokio::test]
    async fn the_default_completion_is_one_event_at_the_level_its_status_deserves() {
        enable_every_callsite();
        let events = Events::default();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
        for path in ["/200", "/404", "/503"] {
            let service = CorrelationLayer::new().layer(service_fn(status_from_path));
            let Ok(_res) = service.oneshot(Request::get(path).body(()).unwrap()).await;
        }
        let seen = events.0.lock().unwrap().clone();
        let completed = |level, status, error: Option<&str>| {
            let message = "request completed".to_owned();
            let error = error.map(str::to_owned);
            let status = Some(status);
            (
                level,
                Fields {
                    message,
                    status,
                    error,
                },
            )
        };
        assert_eq!(
            seen,
            [
                completed(Level::INFO, 200, None),
                completed(Level::WARN, 404, Some("it broke")),
                completed(Level::ERROR, 503, Some("it broke")),
            ]
        );
    }
}

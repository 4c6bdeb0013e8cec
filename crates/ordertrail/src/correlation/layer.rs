//! [`CorrelationLayer`]: the server middleware that gives every request its id.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::Span;

use super::context::{attach_to_span, scope, sync_scope, with_span_data};
use super::span::record_completion;
use super::{
    DEFAULT_HEADER, DefaultMakeSpan, DefaultOnCompletion, MakeRequestId, MakeRequestUuidV7,
    MakeSpan, OnCompletion, RequestHead, RequestId,
};
use crate::propagation::{InboundTrace, apply_inbound, traceresponse};
use crate::recorder::{self, REPLAY_HEADER};

/// The W3C Trace Context level 2 response header naming the server span.
const TRACERESPONSE: HeaderName = HeaderName::from_static("traceresponse");

/// Layer that applies [`Correlation`] to a service: for every request, it accepts the inbound
/// `x-request-id` when it is safe or makes one, opens the request span, runs the request in
/// the id's task-local scope, echoes the id and a `traceresponse` on the response, and logs one
/// completion event.
///
/// # Ordering
/// Apply it with `Router::layer`, outermost, so that it
/// - sees the matched route template (`MatchedPath` exists only inside the router),
/// - wraps the panic catcher: a panic then still becomes a response inside the request's
///   scope, carrying its id, and is counted by the completion event,
/// - wraps the body limit and every extractor, so their rejections carry the id too.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use ordertrail::correlation::{self, CorrelationLayer};
/// use tower_http::catch_panic::CatchPanicLayer;
///
/// async fn hello() -> String {
///     format!("hello from {:?}", correlation::current())
/// }
///
/// let app: Router = Router::new()
///     .route("/hello", get(hello))
///     .layer(CatchPanicLayer::new())
///     .layer(CorrelationLayer::new().service("gateway"));
/// ```
///
/// # Hooks
/// Three hooks, each a trait with a default and a blanket impl for closures:
/// [`make_request_id`](Self::make_request_id), [`make_span`](Self::make_span) and
/// [`on_completion`](Self::on_completion).
#[derive(Debug, Clone)]
#[must_use = "a layer does nothing until it is applied to a router or service"]
pub struct CorrelationLayer<M = MakeRequestUuidV7, P = DefaultMakeSpan, C = DefaultOnCompletion> {
    header: HeaderName,
    make: M,
    make_span: P,
    on_completion: C,
    service: Option<Arc<str>>,
    inbound: InboundTrace,
}

impl CorrelationLayer {
    /// Reads and echoes `x-request-id`, making UUID v7 ids when needed, with the default span
    /// and completion event.
    pub fn new() -> Self {
        Self {
            header: HeaderName::from_static(DEFAULT_HEADER),
            make: MakeRequestUuidV7,
            make_span: DefaultMakeSpan,
            on_completion: DefaultOnCompletion,
            service: None,
            inbound: InboundTrace::Trust,
        }
    }
}

impl Default for CorrelationLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<M, P, C> CorrelationLayer<M, P, C> {
    /// Uses another header name, for inbound and echoed ids alike.
    pub fn header(mut self, name: HeaderName) -> Self {
        self.header = name;
        self
    }

    /// Names the service in the request span (`service` field), so log lines of several
    /// services in one process still tell which one wrote them.
    pub fn service(mut self, name: impl Into<Arc<str>>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// What to do with an inbound `traceparent` (default [`InboundTrace::Trust`]; see
    /// [`crate::propagation`] for why the public edge should `Link`).
    pub fn inbound_trace(mut self, policy: InboundTrace) -> Self {
        self.inbound = policy;
        self
    }

    /// Replaces how missing or refused ids are made.
    pub fn make_request_id<N: MakeRequestId>(self, make: N) -> CorrelationLayer<N, P, C> {
        CorrelationLayer {
            header: self.header,
            make,
            make_span: self.make_span,
            on_completion: self.on_completion,
            service: self.service,
            inbound: self.inbound,
        }
    }

    /// Replaces the request span.
    pub fn make_span<N: MakeSpan>(self, make_span: N) -> CorrelationLayer<M, N, C> {
        CorrelationLayer {
            header: self.header,
            make: self.make,
            make_span,
            on_completion: self.on_completion,
            service: self.service,
            inbound: self.inbound,
        }
    }

    /// Replaces the completion event.
    pub fn on_completion<N: OnCompletion>(self, on_completion: N) -> CorrelationLayer<M, P, N> {
        CorrelationLayer {
            header: self.header,
            make: self.make,
            make_span: self.make_span,
            on_completion,
            service: self.service,
            inbound: self.inbound,
        }
    }
}

impl<S, M: Clone, P: Clone, C: Clone> Layer<S> for CorrelationLayer<M, P, C> {
    type Service = Correlation<S, M, P, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Correlation {
            inner,
            layer: self.clone(),
        }
    }
}

/// The middleware made by [`CorrelationLayer`].
#[derive(Debug, Clone)]
pub struct Correlation<S, M = MakeRequestUuidV7, P = DefaultMakeSpan, C = DefaultOnCompletion> {
    inner: S,
    layer: CorrelationLayer<M, P, C>,
}

impl<S, M: MakeRequestId, P, C> Correlation<S, M, P, C> {
    /// The inbound id if it is valid; otherwise a fresh one and the refused value's length.
    fn resolve(&self, head: &RequestHead<'_>) -> (RequestId, Option<Refused>) {
        let Some(raw) = head.headers.get(&self.layer.header) else {
            return (self.layer.make.make_request_id(head), None);
        };
        match RequestId::parse(raw.as_bytes()) {
            Ok(id) => (id, None),
            Err(reason) => {
                let refused = Refused {
                    len: raw.len(),
                    reason,
                };
                (self.layer.make.make_request_id(head), Some(refused))
            }
        }
    }
}

/// What is kept of a refused inbound id: its length and why, never the value.
struct Refused {
    len: usize,
    reason: super::InvalidRequestId,
}

impl<S, M, P, C, ReqBody, ResBody> Service<Request<ReqBody>> for Correlation<S, M, P, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    M: MakeRequestId,
    P: MakeSpan,
    C: OnCompletion,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let head = RequestHead::of(&req);
        let (id, refused) = self.resolve(&head);
        let span = self
            .layer
            .make_span
            .make_span(&head, &id, self.layer.service.as_deref());
        let trusts_baggage = self.layer.inbound == InboundTrace::Trust;
        with_span_data(&span, |dispatch, data| {
            // The id first, so a warning about the inbound context carries it.
            attach_to_span(data, &id);
            // Before the inbound context is read: the edge removes the recorder's flags from it.
            recorder::begin(dispatch, data, &id, req.headers_mut(), trusts_baggage);
        });
        apply_inbound(&span, req.headers(), self.layer.inbound);
        if let Some(refused) = refused {
            span.in_scope(|| {
                tracing::warn!(
                    rejected_len = refused.len,
                    reason = %refused.reason,
                    "replaced an invalid inbound request id"
                );
            });
        }
        req.extensions_mut().insert(id.clone());
        let inner = span.in_scope(|| sync_scope(id.clone(), || self.inner.call(req)));
        ResponseFuture {
            inner: scope(id.clone(), inner),
            span,
            id,
            header: self.layer.header.clone(),
            on_completion: self.layer.on_completion.clone(),
            start,
        }
    }
}

pin_project! {
    /// Response future of [`Correlation`]: runs the request in its scope and span, then echoes
    /// the id and logs the completion event.
    pub struct ResponseFuture<F, C = DefaultOnCompletion> {
        #[pin]
        inner: TaskLocalFuture<RequestId, F>,
        span: Span,
        id: RequestId,
        header: HeaderName,
        on_completion: C,
        start: Instant,
    }
}

impl<F, C, ResBody, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    C: OnCompletion,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut res = ready!(this.inner.poll(cx))?;
        let headers = res.headers_mut();
        // An id the handler set itself wins (as in tower-http's `PropagateRequestId`).
        headers
            .entry(this.header.clone())
            .or_insert_with(|| this.id.to_header_value());
        if let Some(value) = traceresponse() {
            headers.insert(TRACERESPONSE, value);
        }
        let latency = this.start.elapsed();
        // The flight recorder decides first, so replayed detail precedes the completion line.
        if let Some(trigger) = recorder::finish(this.span, res.status().as_u16(), latency) {
            let value = HeaderValue::from_static(trigger.as_str());
            res.headers_mut().insert(REPLAY_HEADER, value);
        }
        record_completion(this.span, &res, latency, this.on_completion);
        Poll::Ready(Ok(res))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Mutex;

    use http::{HeaderValue, StatusCode};
    use tower::ServiceExt;
    use tower::service_fn;

    use super::*;
    use crate::correlation::{Completion, MAX_LEN, current};
    use crate::propagation::tests::{CALLER_TRACE, caller_headers, traced};

    /// The handler: answers with the id [`current()`] sees, as the body.
    async fn echo_current(_req: Request<()>) -> Result<Response<String>, Infallible> {
        Ok(Response::new(
            current().map(|id| id.to_string()).unwrap_or_default(),
        ))
    }

    /// `req` through `layer` around [`echo_current`].
    async fn call<M, P, C>(layer: CorrelationLayer<M, P, C>, req: Request<()>) -> Response<String>
    where
        M: MakeRequestId,
        P: MakeSpan,
        C: OnCompletion,
    {
        crate::propagation::tests::enable_every_callsite();
        let Ok(res) = layer.layer(service_fn(echo_current)).oneshot(req).await;
        res
    }

    fn with_id(id: &str) -> Request<()> {
        let value = HeaderValue::from_str(id).unwrap();
        Request::get("/orders")
            .header(DEFAULT_HEADER, value)
            .body(())
            .unwrap()
    }

    /// The one echoed `x-request-id`.
    fn echoed(res: &Response<String>) -> &str {
        let values: Vec<_> = res.headers().get_all(DEFAULT_HEADER).iter().collect();
        let [value] = values[..] else {
            panic!("expected one {DEFAULT_HEADER}, got {values:?}");
        };
        value.to_str().unwrap()
    }

    fn assert_uuid_v7(text: &str) {
        let uuid = uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(uuid.get_version_num(), 7, "{text}");
    }

    #[tokio::test]
    async fn a_valid_inbound_id_is_kept_echoed_and_current_in_the_handler() {
        let res = call(CorrelationLayer::new(), with_id("order-42")).await;
        assert_eq!(echoed(&res), "order-42");
        assert_eq!(res.body(), "order-42");
    }

    #[tokio::test]
    async fn a_hostile_inbound_id_is_replaced_by_a_uuid_v7_and_the_new_one_is_echoed() {
        let too_long = "a".repeat(MAX_LEN + 1);
        let hostile = [
            too_long.as_str(),
            "<script>alert(1)</script>",
            "two words",
            "4242424242424242",
            "4000-0000-0000-0002",
        ];
        for value in hostile {
            let res = call(CorrelationLayer::new(), with_id(value)).await;
            let id = echoed(&res);
            assert_ne!(id, value);
            assert_uuid_v7(id);
            assert_eq!(res.body(), id, "the handler sees the new id");
        }
    }

    #[tokio::test]
    async fn a_missing_id_is_generated_fresh_for_each_request() {
        let first = call(CorrelationLayer::new(), Request::new(())).await;
        let second = call(CorrelationLayer::new(), Request::new(())).await;
        assert_uuid_v7(echoed(&first));
        assert_eq!(first.body(), echoed(&first));
        assert_ne!(echoed(&first), echoed(&second));
    }

    #[tokio::test]
    async fn a_configured_header_is_read_and_echoed_instead() {
        let name = HeaderName::from_static("x-correlation-id");
        let layer = CorrelationLayer::new().header(name.clone());
        let req = Request::get("/")
            .header(&name, "corr-7")
            .header(DEFAULT_HEADER, "ignored-1")
            .body(())
            .unwrap();
        let res = call(layer, req).await;
        assert_eq!(res.headers()[&name], "corr-7");
        assert_eq!(res.body(), "corr-7");
        assert!(res.headers().get(DEFAULT_HEADER).is_none());
    }

    #[tokio::test]
    async fn an_id_the_handler_set_on_its_response_is_kept() {
        let handler = service_fn(|_req: Request<()>| async {
            let mut res = Response::new(String::new());
            let id = HeaderValue::from_static("set-by-handler");
            res.headers_mut().insert(DEFAULT_HEADER, id);
            Ok::<_, Infallible>(res)
        });
        let service = CorrelationLayer::new().layer(handler);
        let Ok(res) = service.oneshot(with_id("order-42")).await;
        assert_eq!(echoed(&res), "set-by-handler");
    }

    #[tokio::test]
    async fn make_request_id_sees_the_request_head() {
        let layer = CorrelationLayer::new().make_request_id(|head: &RequestHead<'_>| {
            let tenant = head.headers.get("x-tenant").and_then(|v| v.to_str().ok());
            let path = head.uri.path().trim_start_matches('/');
            format!("{}-{path}", tenant.unwrap_or("anon"))
                .parse()
                .unwrap()
        });
        let missing = Request::get("/orders").header("x-tenant", "acme").body(());
        let res = call(layer.clone(), missing.unwrap()).await;
        assert_eq!(
            (echoed(&res), res.body().as_str()),
            ("acme-orders", "acme-orders")
        );
        let refused = call(layer, with_id("two words")).await;
        assert_eq!(echoed(&refused), "anon-orders");
    }

    #[tokio::test]
    async fn on_completion_is_called_once_with_the_status_and_the_echoed_id() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let layer = CorrelationLayer::new().on_completion(move |done: &Completion<'_>| {
            let id = done.headers.get(DEFAULT_HEADER).cloned();
            record.lock().unwrap().push((done.status, id));
        });
        let teapot = service_fn(|_req: Request<()>| async {
            let res = Response::builder().status(StatusCode::IM_A_TEAPOT);
            Ok::<_, Infallible>(res.body(String::new()).unwrap())
        });
        let Ok(res) = layer.layer(teapot).oneshot(with_id("order-42")).await;
        assert_eq!(res.status(), StatusCode::IM_A_TEAPOT);
        let id = Some(HeaderValue::from_static("order-42"));
        assert_eq!(*seen.lock().unwrap(), [(StatusCode::IM_A_TEAPOT, id)]);
    }

    /// The trace id and span id of a `traceresponse` value.
    fn trace_and_span(value: &HeaderValue) -> (String, String) {
        let parts: Vec<&str> = value.to_str().unwrap().split('-').collect();
        let ["00", trace, span, "01"] = parts[..] else {
            panic!("not a traceresponse: {value:?}");
        };
        assert_eq!((trace.len(), span.len()), (32, 16), "{value:?}");
        (trace.to_owned(), span.to_owned())
    }

    fn from_caller() -> Request<()> {
        let mut req = Request::new(());
        *req.headers_mut() = caller_headers();
        req
    }

    #[tokio::test]
    async fn traceresponse_names_the_server_span_in_the_callers_trace() {
        let (_guard, _ended) = traced();
        let res = call(CorrelationLayer::new(), from_caller()).await;
        let (trace, span) = trace_and_span(&res.headers()[TRACERESPONSE]);
        assert_eq!(trace, CALLER_TRACE);
        assert_ne!(span, "0000000000000000");
    }

    #[tokio::test]
    async fn a_linking_edge_answers_with_its_own_trace() {
        let (_guard, _ended) = traced();
        let layer = CorrelationLayer::new().inbound_trace(InboundTrace::Link);
        let res = call(layer, from_caller()).await;
        let (trace, _span) = trace_and_span(&res.headers()[TRACERESPONSE]);
        assert_ne!(trace, CALLER_TRACE);
    }

    #[tokio::test]
    async fn no_traceresponse_without_opentelemetry() {
        let _plain = tracing::subscriber::set_default(tracing_subscriber::registry());
        let res = call(CorrelationLayer::new(), from_caller()).await;
        assert!(res.headers().get(TRACERESPONSE).is_none());
        assert_eq!(res.body(), echoed(&res));
    }
}

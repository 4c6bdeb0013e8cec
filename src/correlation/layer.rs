//! [`CorrelationLayer`]: the server middleware that gives every request its id.
//!
//! # Ordering
//! Apply it with `Router::layer`, outermost, so that it
//! - sees the matched route template (`MatchedPath` exists only inside the router),
//! - wraps the panic catcher: a panic then still becomes a response inside the request's
//!   scope, carrying its id, and is counted by the completion event,
//! - wraps the body limit and every extractor, so their rejections carry the id too.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use ordertrail::correlation::{self, CorrelationLayer};
//! use tower_http::catch_panic::CatchPanicLayer;
//!
//! async fn hello() -> String {
//!     format!("hello from {:?}", correlation::current())
//! }
//!
//! let app: Router = Router::new()
//!     .route("/hello", get(hello))
//!     .layer(CatchPanicLayer::new())
//!     .layer(CorrelationLayer::new().service("gateway"));
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{HeaderMap, HeaderName, Request, Response};
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::Span;

use super::context::{attach_to_span, scope, sync_scope};
use super::span::{record_completion, request_span};
use super::{DEFAULT_HEADER, MakeRequestId, MakeRequestUuidV7, RequestId};
use crate::propagation::{InboundTrace, apply_inbound, traceresponse};

/// The W3C Trace Context level 2 response header naming the server span.
const TRACERESPONSE: HeaderName = HeaderName::from_static("traceresponse");

/// Layer that applies [`Correlation`] to a service. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct CorrelationLayer<M = MakeRequestUuidV7> {
    header: HeaderName,
    make: M,
    service: Option<Arc<str>>,
    inbound: InboundTrace,
}

impl CorrelationLayer {
    /// Reads and echoes `x-request-id`, making UUID v7 ids when needed.
    pub fn new() -> Self {
        Self {
            header: HeaderName::from_static(DEFAULT_HEADER),
            make: MakeRequestUuidV7,
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

impl<M> CorrelationLayer<M> {
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
    pub fn make_request_id<N: MakeRequestId>(self, make: N) -> CorrelationLayer<N> {
        CorrelationLayer {
            header: self.header,
            make,
            service: self.service,
            inbound: self.inbound,
        }
    }
}

impl<S, M: Clone> Layer<S> for CorrelationLayer<M> {
    type Service = Correlation<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        Correlation {
            inner,
            layer: self.clone(),
        }
    }
}

/// The middleware made by [`CorrelationLayer`].
#[derive(Debug, Clone)]
pub struct Correlation<S, M = MakeRequestUuidV7> {
    inner: S,
    layer: CorrelationLayer<M>,
}

impl<S, M: MakeRequestId> Correlation<S, M> {
    /// The inbound id if it is valid; otherwise a fresh one and the refused value's length.
    fn resolve(&self, headers: &HeaderMap) -> (RequestId, Option<Refused>) {
        let Some(raw) = headers.get(&self.layer.header) else {
            return (self.layer.make.make_request_id(), None);
        };
        match RequestId::parse(raw.as_bytes()) {
            Ok(id) => (id, None),
            Err(reason) => {
                let refused = Refused {
                    len: raw.len(),
                    reason,
                };
                (self.layer.make.make_request_id(), Some(refused))
            }
        }
    }
}

/// What is kept of a refused inbound id: its length and why, never the value.
struct Refused {
    len: usize,
    reason: super::InvalidRequestId,
}

impl<S, M, ReqBody, ResBody> Service<Request<ReqBody>> for Correlation<S, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    M: MakeRequestId,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let (id, refused) = self.resolve(req.headers());
        let span = request_span(&req, &id, self.layer.service.as_deref());
        apply_inbound(&span, req.headers(), self.layer.inbound);
        attach_to_span(&span, &id);
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
            start,
        }
    }
}

pin_project! {
    /// Response future of [`Correlation`]: runs the request in its scope and span, then echoes
    /// the id and logs the completion event.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: TaskLocalFuture<RequestId, F>,
        span: Span,
        id: RequestId,
        header: HeaderName,
        start: Instant,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut res = ready!(this.inner.poll(cx))?;
        let headers = res.headers_mut();
        headers.insert(this.header.clone(), this.id.to_header_value());
        if let Some(value) = traceresponse(this.span) {
            headers.insert(TRACERESPONSE, value);
        }
        record_completion(this.span, &res, this.start.elapsed());
        Poll::Ready(Ok(res))
    }
}

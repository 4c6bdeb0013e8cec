//! [`Propagate`]: puts the current request id on every outgoing call and logs the call.

use std::time::Instant;

use http::{Extensions, HeaderName};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use tracing::{Instrument, Span, field};

use crate::{correlation, propagation};

/// Middleware for `reqwest_middleware` clients. For every call it
/// - sets the request-id header from [`correlation::current`] (a header the caller set wins),
/// - injects `traceparent`, `tracestate` and `baggage` of the client span,
/// - runs the call in a client span (`http.client`, with `method` and `url`),
/// - logs one event when it ends: `status` and `latency_ms`, or the `error`.
#[derive(Debug, Clone)]
pub struct Propagate {
    header: HeaderName,
}

impl Propagate {
    /// Propagates the id in `header`.
    pub fn new(header: HeaderName) -> Self {
        Self { header }
    }

    fn set_request_id(&self, req: &mut Request) {
        if req.headers().contains_key(&self.header) {
            return;
        }
        if let Some(id) = correlation::current() {
            req.headers_mut()
                .insert(self.header.clone(), id.to_header_value());
        }
    }
}

#[async_trait::async_trait]
impl Middleware for Propagate {
    async fn handle(
        &self,
        mut req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        self.set_request_id(&mut req);
        let span = client_span(&req);
        propagation::inject(&span, req.headers_mut());
        let start = Instant::now();
        let result = next.run(req, ext).instrument(span.clone()).await;
        log_outcome(&span, &result, start);
        result
    }
}

/// A client span by the OpenTelemetry HTTP client conventions: name `{method}`, kind client,
/// `http.request.method`, `url.full`, `server.address`, `server.port`, and
/// `http.response.status_code` once answered. Log lines show `method`, `url` and `status`.
fn client_span(req: &Request) -> Span {
    let method = req.method().as_str();
    let url = req.url();
    tracing::info_span!(
        "http.client",
        otel.name = method,
        otel.kind = "client",
        otel.status_code = field::Empty,
        http.request.method = method,
        url.full = url.as_str(),
        server.address = url.host_str(),
        server.port = url.port_or_known_default().map(i64::from),
        http.response.status_code = field::Empty,
        error.type = field::Empty,
    )
}

fn log_outcome(span: &Span, result: &Result<Response>, start: Instant) {
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let _entered = span.enter();
    match result {
        Ok(res) => {
            let status = res.status().as_u16();
            span.record("http.response.status_code", i64::from(status));
            if res.status().is_server_error() {
                span.record("otel.status_code", "error");
                span.record("error.type", res.status().as_str());
            }
            tracing::info!(status, latency_ms, "outgoing call completed");
        }
        Err(err) => {
            span.record("otel.status_code", "error");
            span.record(
                "error.type",
                if err.is_timeout() {
                    "timeout"
                } else {
                    "transport"
                },
            );
            tracing::warn!(error = %err, latency_ms, "outgoing call failed");
        }
    }
}

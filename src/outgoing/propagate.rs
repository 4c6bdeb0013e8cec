//! [`Propagate`]: puts the current request id on every outgoing call and logs the call.

use std::time::Instant;

use http::{Extensions, HeaderName};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use tracing::{Instrument, Span, field};

use crate::correlation;

/// Middleware for `reqwest_middleware` clients. For every call it
/// - sets the request-id header from [`correlation::current`] (a header the caller set wins),
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
        let start = Instant::now();
        let result = next.run(req, ext).instrument(span.clone()).await;
        log_outcome(&span, &result, start);
        result
    }
}

fn client_span(req: &Request) -> Span {
    tracing::info_span!(
        "http.client",
        method = %req.method(),
        url = %req.url(),
        status = field::Empty,
    )
}

fn log_outcome(span: &Span, result: &Result<Response>, start: Instant) {
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let _entered = span.enter();
    match result {
        Ok(res) => {
            let status = res.status().as_u16();
            span.record("status", status);
            tracing::info!(status, latency_ms, "outgoing call completed");
        }
        Err(err) => tracing::warn!(error = %err, latency_ms, "outgoing call failed"),
    }
}

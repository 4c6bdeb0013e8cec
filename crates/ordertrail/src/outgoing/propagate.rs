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
        crate::recorder::outgoing(req.headers_mut());
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
            // The HTTP client conventions: any 4xx or 5xx answer is an error of the call (a
            // server span keeps 4xx unset: there the caller erred, not the server).
            if res.status().is_client_error() || res.status().is_server_error() {
                span.record("otel.status_code", "error");
                span.record("error.type", res.status().as_str());
            }
            if res.status().is_server_error() {
                crate::recorder::downstream_failed();
            }
            tracing::info!(status, latency_ms, "outgoing call completed");
        }
        Err(err) => {
            crate::recorder::downstream_failed();
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::Json;
    use axum::routing::get;
    use http::HeaderMap;
    use opentelemetry::trace::TraceId;
    use reqwest_middleware::ClientWithMiddleware;
    use tokio::net::TcpListener;

    use super::*;
    use crate::correlation::RequestId;
    use crate::outgoing::ClientConfig;
    use crate::propagation::tests::{trace_id, traced};

    type Headers = BTreeMap<String, String>;

    /// Answers with the request headers it got, as a JSON object.
    async fn echo_headers(headers: HeaderMap) -> Json<Headers> {
        let text = |v: &http::HeaderValue| v.to_str().unwrap_or("<binary>").to_owned();
        Json(
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), text(v)))
                .collect(),
        )
    }

    /// Starts the echo server on a free loopback port; its URL.
    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/echo", get(echo_headers));
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/echo")
    }

    /// The headers the server got for `req`.
    async fn sent(req: reqwest_middleware::RequestBuilder) -> Headers {
        let res = req.send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        serde_json::from_str(&res.text().await.unwrap()).unwrap()
    }

    fn client() -> ClientWithMiddleware {
        ClientConfig::default().build().unwrap()
    }

    fn order_42() -> RequestId {
        "order-42".parse().unwrap()
    }

    #[tokio::test]
    async fn a_call_in_a_request_carries_its_id_and_trace() {
        let (_guard, _ended) = traced();
        let url = echo_server().await;
        let span = tracing::info_span!("place_order");
        let trace = trace_id(&span);
        assert_ne!(trace, TraceId::INVALID);
        let call = sent(client().get(&url)).instrument(span);
        let got = correlation::scope(order_42(), call).await;
        assert_eq!(got["x-request-id"], "order-42");
        let traceparent: Vec<&str> = got["traceparent"].split('-').collect();
        assert_eq!(traceparent[1], trace.to_string(), "{traceparent:?}");
    }

    #[tokio::test]
    async fn a_request_id_the_caller_set_wins() {
        let url = echo_server().await;
        let call = sent(
            client()
                .get(&url)
                .header("x-request-id", "chosen-by-caller"),
        );
        let got = correlation::scope(order_42(), call).await;
        assert_eq!(got["x-request-id"], "chosen-by-caller");
    }

    #[tokio::test]
    async fn a_configured_header_carries_the_id() {
        let url = echo_server().await;
        let config = ClientConfig {
            header: HeaderName::from_static("x-correlation-id"),
            ..ClientConfig::default()
        };
        let call = sent(config.build().unwrap().get(&url));
        let got = correlation::scope(order_42(), call).await;
        assert_eq!(
            got.get("x-correlation-id").map(String::as_str),
            Some("order-42")
        );
        assert_eq!(got.get("x-request-id"), None);
    }

    #[tokio::test]
    async fn outside_a_request_no_id_is_sent() {
        let url = echo_server().await;
        let got = sent(client().get(&url)).await;
        assert_eq!(got.get("x-request-id"), None, "{got:?}");
    }

    /// The `error.type` attribute of an ended span, if any.
    fn error_type(span: &opentelemetry_sdk::trace::SpanData) -> Option<String> {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == "error.type")
            .map(|kv| kv.value.to_string())
    }

    #[tokio::test]
    async fn a_4xx_answer_makes_the_client_span_an_error_and_a_2xx_does_not() {
        use opentelemetry::trace::Status;
        let (_guard, ended) = traced();
        let url = echo_server().await;
        let missing = url.replace("/echo", "/missing");
        let res = client().post(&missing).send().await.unwrap();
        assert_eq!(res.status(), http::StatusCode::NOT_FOUND);
        let failed = ended.named("POST");
        assert!(
            matches!(failed.status, Status::Error { .. }),
            "{:?}",
            failed.status
        );
        assert_eq!(error_type(&failed).as_deref(), Some(res.status().as_str()));
        client().get(&url).send().await.unwrap();
        let ok = ended.named("GET");
        assert_eq!(ok.status, Status::Unset);
        assert_eq!(error_type(&ok), None);
    }
}

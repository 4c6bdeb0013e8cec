//! [`router`]: gRPC and HTTP on one axum `Router`, so one port serves both.
//!
//! # How one port serves both protocols
//! tonic 0.14 builds its services as an axum router ([`tonic::service::Routes`]), with one route
//! per service: `/opentelemetry.proto.collector.trace.v1.TraceService/{*rest}`. The OTLP/HTTP
//! routes are `/v1/traces` and `/v1/logs`: the paths never collide, so the two routers merge into
//! one. On the connection side, `axum::serve` (with axum's `http2` feature) sniffs each new
//! connection: one that opens with the HTTP/2 preface (gRPC clients speak cleartext HTTP/2 with
//! prior knowledge) is served as HTTP/2, any other as HTTP/1.1. That is how port 4317 answers the
//! gRPC exporter and the `http-proto` exporter alike, with no TLS and no ALPN.
//!
//! `GET /metrics` answers the collector's own counts (`exposition`). A request to any other
//! path gets `UNIMPLEMENTED` if it is gRPC and `404` otherwise.
//!
//! Every route runs behind the `guard` middleware, which caps the requests running at once and
//! checks gRPC messages against the [`Limits`](super::Limits) before tonic decodes them.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::guard::{Guard, guard};
use super::sink::Sink;
use super::{exposition, grpc, http};

/// Every OTLP route, gRPC and HTTP, delivering to `sink` within its limits. Serve it with
/// `ordertrail::web::serve_with`, as [`Collector`](super::Collector) does; add no tracing
/// middleware, or the collector's own spans may be exported back to it.
pub fn router(sink: Sink) -> Router {
    let guard_state = Guard::new(*sink.limits());
    grpc::routes(&sink)
        .into_axum_router()
        .merge(exposition::routes(sink.received()))
        .merge(http::routes(sink))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(guard_state, guard))
}

async fn not_found(headers: HeaderMap) -> Response {
    if is_grpc(&headers) {
        tonic::Status::unimplemented("not an OTLP service").into_http()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

//! The middleware in front of every route: at most
//! [`max_concurrent_requests`](super::Limits::max_concurrent_requests) requests at once, and
//! gRPC messages checked against the [`Limits`] before tonic decodes them.
//!
//! # gRPC messages
//! tonic inflates a message (up to its size limit) and decodes it with prost before any
//! handler runs: a 2 MB message of a million empty spans is 250 MB of structs by then. So this
//! middleware reads the gRPC frame first (`[compressed flag][u32 length][message]`, up to
//! [`Limits::max_body_bytes`]), inflates it itself while counting bytes, runs
//! `scan::check_protobuf` on it, and hands tonic the same message uncompressed (the
//! `grpc-encoding` header removed). A refused message gets `RESOURCE_EXHAUSTED` without being
//! decoded.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::files::Signal;
use super::http::{BodyError, gunzip};
use super::limits::{LimitError, Limits};
use super::router::is_grpc;
use super::scan::check_protobuf;

/// What the middleware needs: the limits and the permits of running requests.
#[derive(Clone, Debug)]
pub(crate) struct Guard {
    limits: Limits,
    running: Arc<Semaphore>,
}

impl Guard {
    pub(crate) fn new(limits: Limits) -> Self {
        let running = Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1)));
        Self { limits, running }
    }
}

/// Refuses a request when too many run, checks gRPC messages, then runs the route.
pub(crate) async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Ok(_permit) = guard.running.try_acquire() else {
        return busy(is_grpc(request.headers()));
    };
    if !is_grpc(request.headers()) {
        return next.run(request).await;
    }
    match checked_grpc(request, &guard.limits).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal.into_http(),
    }
}

/// `503` with `Retry-After`, or `UNAVAILABLE`: both tell an exporter to retry later.
fn busy(grpc: bool) -> Response {
    const MESSAGE: &str = "too many export requests at once; retry later";
    if grpc {
        return tonic::Status::unavailable(MESSAGE).into_http();
    }
    let retry = [(RETRY_AFTER, HeaderValue::from_static("1"))];
    (StatusCode::SERVICE_UNAVAILABLE, retry, MESSAGE).into_response()
}

/// The request with its gRPC message checked and uncompressed, or the status refusing it.
async fn checked_grpc(request: Request, limits: &Limits) -> Result<Request, tonic::Status> {
    let signal = grpc_signal(request.uri().path());
    let (mut parts, body) = request.into_parts();
    let frame_limit = limits.max_body_bytes.saturating_add(FRAME_HEADER);
    let body = axum::body::to_bytes(body, frame_limit).await.map_err(|_| {
        exhausted(&LimitError::Body {
            limit: limits.max_body_bytes,
        })
    })?;
    let Some(signal) = signal else {
        return Ok(Request::from_parts(parts, Body::from(body)));
    };
    let message = unframe(&body, limits)?;
    check_protobuf(signal, &message, limits).map_err(|error| exhausted(&error))?;
    parts.headers.remove("grpc-encoding");
    Ok(Request::from_parts(parts, Body::from(frame(&message))))
}

/// Length of the gRPC frame header: a compressed flag and a big-endian u32 length.
const FRAME_HEADER: usize = 5;

/// The message of a unary gRPC body, inflated if its flag says so.
fn unframe(body: &Bytes, limits: &Limits) -> Result<Bytes, tonic::Status> {
    let malformed = || tonic::Status::invalid_argument("not a single gRPC message");
    let header = body.get(..FRAME_HEADER).ok_or_else(malformed)?;
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let message = body.slice(FRAME_HEADER..);
    if message.len() != len {
        return Err(malformed());
    }
    match header[0] {
        0 => Ok(message),
        1 => gunzip(&message, limits.max_body_bytes)
            .map(Bytes::from)
            .map_err(|error| match error {
                BodyError::Limit(limit) => exhausted(&limit),
                other => tonic::Status::invalid_argument(other.to_string()),
            }),
        _ => Err(malformed()),
    }
}

/// An uncompressed gRPC frame holding `message`.
fn frame(message: &[u8]) -> Bytes {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut framed = Vec::with_capacity(FRAME_HEADER + message.len());
    framed.push(0);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    framed.into()
}

fn exhausted(error: &LimitError) -> tonic::Status {
    tonic::Status::resource_exhausted(error.to_string())
}

/// The signal of an OTLP gRPC export path; `None` for any other path.
fn grpc_signal(path: &str) -> Option<Signal> {
    match path {
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export" => Some(Signal::Traces),
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export" => Some(Signal::Logs),
        _ => None,
    }
}

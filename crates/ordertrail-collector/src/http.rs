//! OTLP/HTTP: `POST /v1/traces`, `POST /v1/logs` and `POST /v1/metrics`.
//!
//! The body is an `Export*ServiceRequest`, encoded as the `Content-Type` says:
//! `application/x-protobuf` (what `opentelemetry-otlp`'s `http-proto` sends; also assumed when
//! the header is missing) or `application/json` (OTLP/JSON, `http-json`). A body with
//! `Content-Encoding: gzip` is decompressed first, and only up to
//! [`Limits::max_body_bytes`]: the inflater stops there and the request is refused.
//! Before decoding, the body is counted against the other [`Limits`] (see `scan`).
//!
//! The answer is an empty `Export*ServiceResponse` in the request's encoding. A body that does
//! not decode gets `400 Bad Request`, one over a limit `413 Payload Too Large`, both with a
//! `google.rpc.Status` body, as the OTLP specification asks; the exporter will not retry them,
//! and the server goes on serving. A request that could not be written to the output files
//! (a full disk) gets `503 Service Unavailable` with `Retry-After`, which the exporter retries.

use std::borrow::Cow;
use std::io::Read as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use flate2::read::MultiGzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::files::Signal;
use super::limits::{LimitError, Limits};
use super::scan::{check_json, check_protobuf};
use super::sink::{Sink, SinkError};

/// Path of trace exports, as the exporters' `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` ends.
pub const TRACES_PATH: &str = "/v1/traces";
/// Path of log exports.
pub const LOGS_PATH: &str = "/v1/logs";
/// Path of metric exports.
pub const METRICS_PATH: &str = "/v1/metrics";

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";
/// Seconds an exporter is asked to wait before sending an unwritten request again.
const RETRY_AFTER_SECONDS: &str = "5";

/// The three OTLP/HTTP routes, with a body limit of [`Limits::max_body_bytes`].
pub(crate) fn routes(sink: Sink) -> Router {
    Router::new()
        .route(TRACES_PATH, post(traces))
        .route(LOGS_PATH, post(logs))
        .route(METRICS_PATH, post(metrics))
        .layer(DefaultBodyLimit::max(sink.limits().max_body_bytes))
        .with_state(sink)
}

async fn traces(
    State(sink): State<Sink>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let (format, request) =
        decode::<ExportTraceServiceRequest>(Signal::Traces, &headers, &body, sink.limits())?;
    sink.traces(request)
        .await
        .map_err(|error| Rejection::new(format, error.into()))?;
    Ok(format.respond(&ExportTraceServiceResponse::default()))
}

async fn logs(
    State(sink): State<Sink>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let (format, request) =
        decode::<ExportLogsServiceRequest>(Signal::Logs, &headers, &body, sink.limits())?;
    sink.logs(request)
        .await
        .map_err(|error| Rejection::new(format, error.into()))?;
    Ok(format.respond(&ExportLogsServiceResponse::default()))
}

async fn metrics(
    State(sink): State<Sink>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let (format, request) =
        decode::<ExportMetricsServiceRequest>(Signal::Metrics, &headers, &body, sink.limits())?;
    sink.metrics(request)
        .await
        .map_err(|error| Rejection::new(format, error.into()))?;
    Ok(format.respond(&ExportMetricsServiceResponse::default()))
}

/// Reads the encoding from the headers, then decompresses, checks and decodes the body.
fn decode<T>(
    signal: Signal,
    headers: &HeaderMap,
    body: &[u8],
    limits: &Limits,
) -> Result<(Format, T), Rejection>
where
    T: Message + Default + DeserializeOwned,
{
    let format = Format::of(headers).map_err(|error| Rejection::new(Format::Protobuf, error))?;
    let message = decompress(headers, body, limits.max_body_bytes)
        .and_then(|body| format.decode(signal, &body, limits))
        .map_err(|error| Rejection::new(format, error))?;
    Ok((format, message))
}

/// Why a request body was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum BodyError {
    /// The content type is neither protobuf nor JSON.
    #[error("unsupported content-type {0:?}: use {PROTOBUF} or {JSON}")]
    ContentType(String),
    /// The content encoding is not gzip.
    #[error("unsupported content-encoding {0:?}: use gzip or none")]
    ContentEncoding(String),
    /// The body claims gzip but does not decompress.
    #[error("the body is not valid gzip")]
    Gzip(#[source] std::io::Error),
    /// The body is over one of the [`Limits`].
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The body is not the protobuf message of this path.
    #[error("the body is not a valid protobuf export request")]
    Protobuf(#[source] prost::DecodeError),
    /// The body is not the OTLP/JSON message of this path.
    #[error("the body is not a valid OTLP/JSON export request")]
    Json(#[source] serde_json::Error),
    /// The request could not be written to the output files; it may be sent again later.
    #[error("the collector could not write the request; retry later")]
    Unwritten(#[source] std::io::Error),
}

impl From<SinkError> for BodyError {
    fn from(error: SinkError) -> Self {
        match error {
            SinkError::Limit(limit) => Self::Limit(limit),
            SinkError::Unwritten(io) => Self::Unwritten(io),
        }
    }
}

impl BodyError {
    fn status(&self) -> StatusCode {
        match self {
            Self::ContentType(_) | Self::ContentEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Limit(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Gzip(_) | Self::Protobuf(_) | Self::Json(_) => StatusCode::BAD_REQUEST,
            Self::Unwritten(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The two encodings of OTLP/HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// The format named by `Content-Type`, ignoring parameters such as `charset`.
    fn of(headers: &HeaderMap) -> Result<Self, BodyError> {
        let Some(value) = headers.get(CONTENT_TYPE) else {
            return Ok(Self::Protobuf);
        };
        let text = String::from_utf8_lossy(value.as_bytes());
        let essence = text.split(';').next().unwrap_or_default().trim();
        match essence.to_ascii_lowercase().as_str() {
            PROTOBUF => Ok(Self::Protobuf),
            JSON => Ok(Self::Json),
            _ => Err(BodyError::ContentType(text.into_owned())),
        }
    }

    /// Checks `body` against `limits`, then decodes it. JSON is bounded coarsely before
    /// decoding and counted exactly after, on its protobuf encoding.
    fn decode<T: Message + Default + DeserializeOwned>(
        self,
        signal: Signal,
        body: &[u8],
        limits: &Limits,
    ) -> Result<T, BodyError> {
        match self {
            Self::Protobuf => {
                check_protobuf(signal, body, limits)?;
                T::decode(body).map_err(BodyError::Protobuf)
            }
            Self::Json => {
                check_json(body, limits)?;
                let message: T = serde_json::from_slice(body).map_err(BodyError::Json)?;
                check_protobuf(signal, &message.encode_to_vec(), limits)?;
                Ok(message)
            }
        }
    }

    /// A `200 OK` carrying `message` in this format.
    fn respond<T: Message + Serialize>(self, message: &T) -> Response {
        match self {
            Self::Protobuf => (content_type(PROTOBUF), message.encode_to_vec()).into_response(),
            // Serializing generated OTLP messages to a Vec cannot fail.
            Self::Json => {
                let body = serde_json::to_vec(message).unwrap_or_default();
                (content_type(JSON), body).into_response()
            }
        }
    }
}

fn content_type(value: &'static str) -> [(axum::http::HeaderName, HeaderValue); 1] {
    [(CONTENT_TYPE, HeaderValue::from_static(value))]
}

/// The body, gunzipped (up to `limit` bytes) if `Content-Encoding` says so.
fn decompress<'a>(
    headers: &HeaderMap,
    body: &'a [u8],
    limit: usize,
) -> Result<Cow<'a, [u8]>, BodyError> {
    let Some(encoding) = headers.get(CONTENT_ENCODING) else {
        return Ok(Cow::Borrowed(body));
    };
    let encoding = String::from_utf8_lossy(encoding.as_bytes())
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "identity" | "" => Ok(Cow::Borrowed(body)),
        "gzip" => gunzip(body, limit).map(Cow::Owned),
        _ => Err(BodyError::ContentEncoding(encoding)),
    }
}

/// Inflates at most `limit + 1` bytes, so a small zip bomb cannot fill memory: one byte past
/// the limit is enough to refuse it.
pub(crate) fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(BodyError::Gzip)?;
    if out.len() > limit {
        return Err(LimitError::Body { limit }.into());
    }
    Ok(out)
}

/// A refused request: the error, answered in the request's format.
#[derive(Debug)]
struct Rejection {
    format: Format,
    error: BodyError,
}

impl Rejection {
    fn new(format: Format, error: BodyError) -> Self {
        Self { format, error }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = RpcStatus {
            code: grpc_code(self.error.status()) as i32,
            message: self.error.to_string(),
        };
        let body = match self.format {
            Format::Protobuf => (content_type(PROTOBUF), status.encode_to_vec()).into_response(),
            Format::Json => {
                let json = serde_json::json!({ "code": status.code, "message": status.message });
                (content_type(JSON), json.to_string()).into_response()
            }
        };
        let status = self.error.status();
        let mut response = (status, body).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let retry = HeaderValue::from_static(RETRY_AFTER_SECONDS);
            response.headers_mut().insert(RETRY_AFTER, retry);
        }
        response
    }
}

/// The gRPC code that goes with an HTTP status, for the `google.rpc.Status` body.
fn grpc_code(status: StatusCode) -> tonic::Code {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => tonic::Code::ResourceExhausted,
        StatusCode::SERVICE_UNAVAILABLE => tonic::Code::Unavailable,
        _ => tonic::Code::InvalidArgument,
    }
}

/// `google.rpc.Status`, the body of OTLP/HTTP error responses (its `details` left out).
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    message: String,
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn headers(pairs: &[(axum::http::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name, HeaderValue::from_static(value));
        }
        map
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn content_type_parameters_are_ignored() {
        let h = headers(&[(CONTENT_TYPE, "Application/JSON; charset=utf-8")]);
        assert_eq!(Format::of(&h).unwrap(), Format::Json);
        assert_eq!(Format::of(&HeaderMap::new()).unwrap(), Format::Protobuf);
        let text = headers(&[(CONTENT_TYPE, "text/plain")]);
        assert!(matches!(Format::of(&text), Err(BodyError::ContentType(_))));
    }

    #[test]
    fn gzip_bodies_decompress_and_bombs_are_refused() {
        let h = headers(&[(CONTENT_ENCODING, "gzip")]);
        assert_eq!(&*decompress(&h, &gzip(b"otlp"), 4).unwrap(), b"otlp");
        let bomb = gzip(&vec![0; 1024 * 1024]);
        let refused = decompress(&h, &bomb, 1024);
        assert!(matches!(
            refused,
            Err(BodyError::Limit(LimitError::Body { limit: 1024 }))
        ));
        assert!(matches!(
            decompress(&h, b"plain", 4),
            Err(BodyError::Gzip(_))
        ));
    }

    #[test]
    fn json_bodies_decode() {
        let h = headers(&[(CONTENT_TYPE, JSON)]);
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"from json"}]}]}]}"#;
        let limits = Limits::default();
        let (format, request) =
            decode::<ExportTraceServiceRequest>(Signal::Traces, &h, body, &limits).unwrap();
        assert_eq!(format, Format::Json);
        assert_eq!(
            request.resource_spans[0].scope_spans[0].spans[0].name,
            "from json"
        );
    }
}

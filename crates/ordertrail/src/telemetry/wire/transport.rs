//! Sending an encoded export request: OTLP/gRPC (HTTP/2, a length-prefixed message, the
//! status in `grpc-status`) or OTLP/HTTP (`POST` of `application/x-protobuf`).
//!
//! The requests run on a small runtime of their own, one thread started with the exporters
//! ([`ExportRuntime`]), so export works whether or not the application runs tokio, never takes
//! a task slot from a request, and ends with the exporters.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, TE, USER_AGENT};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::protobuf::Encoded;
use super::retry;
use crate::telemetry::OtlpProtocol;

/// What went wrong sending one export request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// The endpoint is not a URI this transport can reach.
    #[error("endpoint {endpoint:?}: {reason}")]
    Endpoint { endpoint: String, reason: String },
    /// A configured header is not a valid HTTP header.
    #[error("header {name:?}: not a valid HTTP header")]
    Header { name: String },
    /// No connection, or the connection broke.
    #[error("no answer: {0}")]
    Request(#[source] Box<hyper_util::client::legacy::Error>),
    /// The answer's body broke off, or was longer than an export answer can be.
    #[error("unreadable answer: {0}")]
    Answer(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The collector answered with an HTTP error (and maybe when to try again).
    #[error("answered HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The collector answered with a gRPC error.
    #[error("answered gRPC status {code}: {message}")]
    Grpc { code: String, message: String },
    /// No answer within the export time-out.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// The export runtime has stopped (the exporters are shutting down).
    #[error("the export runtime has stopped")]
    Stopped,
}

/// Which OTLP service a sender talks to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// `traces` or `logs`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Logs => "logs",
        }
    }

    /// The gRPC method of this signal's `Export`.
    fn grpc_path(self) -> &'static str {
        match self {
            Self::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            Self::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        }
    }
}

/// One thread running a current-thread tokio runtime until it is dropped.
#[derive(Debug)]
pub(crate) struct ExportRuntime {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl ExportRuntime {
    /// The runtime of the exporters alive in this process, started by the first of them and
    /// stopped when the last one is dropped.
    pub(crate) fn shared() -> std::io::Result<Arc<Self>> {
        static SHARED: Mutex<Weak<ExportRuntime>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(running) = shared.upgrade() {
            return Ok(running);
        }
        let started = Self::start()?;
        *shared = Arc::downgrade(&started);
        Ok(started)
    }

    /// Starts the thread; fails only when the OS refuses a thread or an event loop.
    fn start() -> std::io::Result<Arc<Self>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("ordertrail-export".into())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Arc::new(Self {
            handle,
            stop: Some(stop),
        }))
    }
}

impl Drop for ExportRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sends encoded export requests of one signal to one endpoint.
#[derive(Debug)]
pub(crate) struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    protocol: OtlpProtocol,
    headers: HeaderMap,
    timeout: Duration,
    runtime: Arc<ExportRuntime>,
}

/// Where and how a [`Sender`] sends.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) signal: Signal,
    pub(crate) protocol: OtlpProtocol,
    /// The signal's endpoint: the collector's base for gRPC, the full URL for HTTP.
    pub(crate) endpoint: &'a str,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) timeout: Duration,
}

impl Sender {
    /// A sender for `target`, sending on `runtime`.
    pub(crate) fn new(target: &Target<'_>, runtime: Arc<ExportRuntime>) -> Result<Self, SendError> {
        let uri = request_uri(target)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(target.timeout));
        let mut builder = Client::builder(TokioExecutor::new());
        builder.pool_max_idle_per_host(2);
        if matches!(target.protocol, OtlpProtocol::Grpc) {
            builder.http2_only(true);
        }
        Ok(Self {
            client: builder.build(connector),
            uri,
            protocol: target.protocol,
            headers: request_headers(target.headers, target.protocol)?,
            timeout: target.timeout,
            runtime,
        })
    }

    /// Runs `future` to its end from a thread that is no runtime's, while the export runtime
    /// drives the requests it sends.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.handle.block_on(future)
    }

    /// [`send`](Self::send), its failure as the SDK's export error naming the endpoint: what
    /// the span and log record exports report and count.
    pub(crate) fn export(
        &self,
        message: Encoded,
    ) -> impl Future<Output = OTelSdkResult> + Send + 'static {
        let sent = self.send(message);
        let uri = self.uri.clone();
        async move {
            sent.await
                .map_err(|err| OTelSdkError::InternalFailure(format!("{uri}: {err}")))
        }
    }

    /// Sends one encoded request on the export runtime (again while its failures are
    /// transient, see [`retry`]) and waits for the outcome, at most the export time-out.
    pub(crate) fn send(
        &self,
        message: Encoded,
    ) -> impl Future<Output = Result<(), SendError>> + Send + 'static {
        let grpc = matches!(self.protocol, OtlpProtocol::Grpc);
        let outgoing = Outgoing {
            client: self.client.clone(),
            uri: self.uri.clone(),
            headers: self.headers.clone(),
            body: if grpc {
                message.into_grpc_frame()
            } else {
                message.into_message()
            },
            grpc,
        };
        let task = self
            .runtime
            .handle
            .spawn(outgoing.send_within(self.timeout));
        async move { task.await.unwrap_or(Err(SendError::Stopped)) }
    }
}

/// One encoded request on its way, sent again while its failures are transient.
struct Outgoing {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    grpc: bool,
}

impl Outgoing {
    /// Sends until an answer says it arrived, a failure is not transient, the retries are
    /// spent, or `timeout` has passed since the first attempt.
    async fn send_within(self, timeout: Duration) -> Result<(), SendError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut retry = 0;
        loop {
            let attempt = exchange(&self.client, self.request(), self.grpc);
            let err = match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(err)) => err,
                Err(_) => return Err(SendError::TimedOut(timeout)),
            };
            let again_at = retry::delay(&err, retry).map(|wait| tokio::time::Instant::now() + wait);
            match again_at {
                Some(at) if retry < retry::RETRIES && at < deadline => {
                    tokio::time::sleep_until(at).await;
                    retry += 1;
                }
                _ => return Err(err),
            }
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// The headers of every request: the configured ones, then the protocol's own.
fn request_headers(
    configured: &[(String, String)],
    protocol: OtlpProtocol,
) -> Result<HeaderMap, SendError> {
    let mut headers = header_map(configured)?;
    match protocol {
        OtlpProtocol::Grpc => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
            headers.insert(TE, HeaderValue::from_static("trailers"));
        }
        OtlpProtocol::HttpProtobuf => {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            );
        }
    }
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    Ok(headers)
}

const USER_AGENT_VALUE: &str = concat!("ordertrail/", env!("CARGO_PKG_VERSION"));

/// The most of an answer read: an export answer is a few bytes (a partial-success message at
/// most), and a collector that sends more must not make the exporter buffer it.
const MAX_ANSWER: usize = 64 * 1024;

/// One request and its whole answer; the gRPC status comes from the headers (an answer
/// without a body) or the trailers.
async fn exchange(
    client: &Client<HttpConnector, Full<Bytes>>,
    request: Request<Full<Bytes>>,
    grpc: bool,
) -> Result<(), SendError> {
    let response = client
        .request(request)
        .await
        .map_err(|err| SendError::Request(Box::new(err)))?;
    let status = response.status();
    let head = response.headers().clone();
    let answer = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(SendError::Answer)?;
    if !status.is_success() {
        return Err(SendError::Status {
            status: status.as_u16(),
            retry_after: retry_after(&head),
        });
    }
    if grpc {
        let trailers = answer.trailers().cloned().unwrap_or_default();
        return grpc_status(&head, &trailers);
    }
    Ok(())
}

/// A `Retry-After` given in seconds (the form collectors use).
fn retry_after(head: &HeaderMap) -> Option<Duration> {
    let seconds = head.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    seconds.trim().parse().ok().map(Duration::from_secs)
}

/// `Ok` for `grpc-status: 0`, in the headers or the trailers.
fn grpc_status(head: &HeaderMap, trailers: &HeaderMap) -> Result<(), SendError> {
    let found = |name: &str| {
        trailers
            .get(name)
            .or_else(|| head.get(name))
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    match found("grpc-status") {
        Some(code) if code == "0" => Ok(()),
        code => Err(SendError::Grpc {
            code: code.unwrap_or_else(|| "missing".into()),
            message: found("grpc-message").unwrap_or_default(),
        }),
    }
}

/// The URI requests go to: the gRPC method under the base, or the HTTP endpoint as given.
fn request_uri(target: &Target<'_>) -> Result<Uri, SendError> {
    let text = match target.protocol {
        OtlpProtocol::Grpc => format!(
            "{}{}",
            target.endpoint.trim_end_matches('/'),
            target.signal.grpc_path()
        ),
        OtlpProtocol::HttpProtobuf => target.endpoint.to_owned(),
    };
    let uri: Uri = text
        .parse()
        .map_err(|err: http::uri::InvalidUri| SendError::Endpoint {
            endpoint: target.endpoint.to_owned(),
            reason: err.to_string(),
        })?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(SendError::Endpoint {
            endpoint: target.endpoint.to_owned(),
            reason: "expected http://host:port (TLS is not supported)".into(),
        });
    }
    Ok(uri)
}

fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, SendError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let invalid = || SendError::Header { name: name.clone() };
        let header = HeaderName::try_from(name.as_str()).map_err(|_| invalid())?;
        let value = HeaderValue::try_from(value.as_str()).map_err(|_| invalid())?;
        map.append(header, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(protocol: OtlpProtocol, endpoint: &str) -> Target<'_> {
        Target {
            signal: Signal::Logs,
            protocol,
            endpoint,
            headers: &[],
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn grpc_requests_go_to_the_signal_method_under_the_base() {
        let uri = request_uri(&target(OtlpProtocol::Grpc, "http://127.0.0.1:4317/")).unwrap();
        assert_eq!(
            uri.to_string(),
            "http://127.0.0.1:4317/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        );
        let http = "http://127.0.0.1:4318/v1/logs";
        let uri = request_uri(&target(OtlpProtocol::HttpProtobuf, http)).unwrap();
        assert_eq!(uri.to_string(), http);
    }

    #[test]
    fn endpoints_other_than_plain_http_are_refused() {
        for endpoint in [
            "https://collector:4317",
            "collector:4317",
            "http://",
            "not a uri",
        ] {
            let err = request_uri(&target(OtlpProtocol::Grpc, endpoint)).unwrap_err();
            assert!(
                matches!(err, SendError::Endpoint { .. }),
                "{endpoint}: {err}"
            );
        }
    }

    #[test]
    fn invalid_headers_are_refused() {
        let headers = [("api key".to_owned(), "x".to_owned())];
        assert!(matches!(
            header_map(&headers),
            Err(SendError::Header { .. })
        ));
        let headers = [("x-api-key".to_owned(), "secret".to_owned())];
        assert_eq!(header_map(&headers).unwrap()["x-api-key"], "secret");
    }

    /// An HTTP server on loopback answering every request with `body`.
    fn answering(runtime: &tokio::runtime::Runtime, body: Vec<u8>) -> String {
        runtime.block_on(async move {
            let app = axum::Router::new().fallback(move || {
                let body = body.clone();
                async move { body }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}/v1/logs")
        })
    }

    fn send_to(runtime: &tokio::runtime::Runtime, endpoint: &str) -> Result<(), SendError> {
        let mut to = target(OtlpProtocol::HttpProtobuf, endpoint);
        to.timeout = Duration::from_millis(300);
        let sender = Sender::new(&to, ExportRuntime::shared().unwrap()).unwrap();
        runtime.block_on(sender.send(super::super::protobuf::Writer::request(0).finish()))
    }

    #[test]
    fn an_answer_longer_than_an_export_answer_is_refused_not_buffered() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let small = answering(&runtime, vec![0; 16]);
        assert!(send_to(&runtime, &small).is_ok());
        let endless = answering(&runtime, vec![0; 4 * MAX_ANSWER]);
        let err = send_to(&runtime, &endless).unwrap_err();
        assert!(matches!(err, SendError::Answer(_)), "{err}");
    }

    /// A loopback server answering the first `failing` requests with `status`, then 200;
    /// returns its endpoint and how many requests it got.
    fn failing_first(
        runtime: &tokio::runtime::Runtime,
        failing: usize,
        status: u16,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&seen);
        let endpoint = runtime.block_on(async move {
            let app = axum::Router::new().fallback(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    let code = if n < failing { status } else { 200 };
                    let code = http::StatusCode::from_u16(code).unwrap();
                    (code, [(http::header::RETRY_AFTER, "0")])
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            format!("http://{addr}/v1/traces")
        });
        (endpoint, seen)
    }

    #[test]
    fn a_busy_collector_gets_the_same_request_again() {
        use std::sync::atomic::Ordering;
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (endpoint, seen) = failing_first(&runtime, 2, 503);
        assert!(send_to(&runtime, &endpoint).is_ok());
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_refused_request_is_not_sent_again() {
        use std::sync::atomic::Ordering;
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (endpoint, seen) = failing_first(&runtime, 1, 400);
        let err = send_to(&runtime, &endpoint).unwrap_err();
        assert!(
            matches!(err, SendError::Status { status: 400, .. }),
            "{err}"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn retries_stop_after_their_number() {
        use std::sync::atomic::Ordering;
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (endpoint, seen) = failing_first(&runtime, usize::MAX, 503);
        assert!(send_to(&runtime, &endpoint).is_err());
        assert_eq!(seen.load(Ordering::SeqCst), 1 + retry::RETRIES as usize);
    }

    #[test]
    fn a_collector_that_accepts_and_never_answers_times_out() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}/v1/traces", silent.local_addr().unwrap());
        // The kernel accepts the connection into the backlog; nobody ever reads or answers.
        let err = send_to(&runtime, &endpoint).unwrap_err();
        assert!(matches!(err, SendError::TimedOut(_)), "{err}");
        drop(silent);
    }

    #[test]
    fn the_grpc_status_is_read_from_trailers_or_headers() {
        let status = |code: &str| {
            let mut map = HeaderMap::new();
            map.insert("grpc-status", HeaderValue::from_str(code).unwrap());
            map.insert("grpc-message", HeaderValue::from_static("too big"));
            map
        };
        let none = HeaderMap::new();
        assert!(grpc_status(&none, &status("0")).is_ok());
        assert!(grpc_status(&status("0"), &none).is_ok());
        let err = grpc_status(&none, &status("8")).unwrap_err();
        assert_eq!(err.to_string(), "answered gRPC status 8: too big");
        assert!(matches!(
            grpc_status(&none, &none),
            Err(SendError::Grpc { .. })
        ));
    }
}

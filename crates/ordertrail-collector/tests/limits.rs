//! The collector under hostile input, over real sockets on `127.0.0.1`: a 2 KB gzip bomb of a
//! million empty spans, lines over the line limit, more requests than it runs at once, and
//! hundreds of connections that never finish their request head. Each time, a real
//! `opentelemetry-otlp` exporter must still get through.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use ordertrail::web::ServeConfig;
use ordertrail_collector::{Collector, CollectorConfig, TRACES_FILE, TRACES_PATH};
use prost::encoding::encode_varint;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);
const GRPC_TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const EMPTY_SPANS: usize = 1_000_000;

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let name = format!("ordertrail-collector-limits-{}", uuid::Uuid::new_v4());
        Self(std::env::temp_dir().join(name))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(config: CollectorConfig) -> Collector {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Collector::start(listener, config).await.unwrap()
}

/// `bytes` as a length-delimited protobuf field `field`.
fn field(field: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 11);
    encode_varint(field << 3 | 2, &mut out);
    encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// An `ExportTraceServiceRequest` of `count` empty spans, encoded by hand: building it with
/// the generated types would itself take the memory the test looks for.
fn empty_spans_protobuf(count: usize) -> Vec<u8> {
    let scope_spans = [0x12, 0x00].repeat(count); // ScopeSpans.spans (2), each empty.
    field(1, &field(2, &scope_spans)) // .resource_spans (1) .scope_spans (2)
}

/// The same request as OTLP/JSON.
fn empty_spans_json(count: usize) -> Vec<u8> {
    let spans = vec!["{}"; count].join(",");
    format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{spans}]}}]}}]}}"#).into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A value of `/proc/self/status` in KiB: `VmRSS` now, `VmHWM` the peak so far.
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sends one gRPC message (flagged compressed when `gzipped`) over a fresh HTTP/2 connection;
/// returns the `grpc-status` answered, from the headers or the trailers.
async fn grpc_post(collector: &Collector, message: &[u8], gzipped: bool) -> String {
    let tcp = TcpStream::connect(collector.addr()).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::post(format!("{}{GRPC_TRACES}", collector.grpc_endpoint()))
        .header("content-type", "application/grpc")
        .header("grpc-encoding", "gzip")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut body) = client.send_request(request, false).unwrap();
    let mut frame = vec![u8::from(gzipped)];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    body.send_data(frame.into(), true).unwrap();
    let response = tokio::time::timeout(WAIT, response).await.unwrap().unwrap();
    if let Some(status) = response.headers().get("grpc-status") {
        return status.to_str().unwrap().to_owned();
    }
    let mut body = response.into_body();
    while let Some(data) = body.data().await {
        data.unwrap();
    }
    let trailers = body.trailers().await.unwrap().unwrap_or_default();
    let status = trailers
        .get("grpc-status")
        .map(|s| s.to_str().unwrap().to_owned());
    status.unwrap_or_default()
}

async fn http_post(collector: &Collector, content_type: &str, gzipped: Vec<u8>) -> u16 {
    let response = reqwest::Client::new()
        .post(collector.http_endpoint(TRACES_PATH))
        .header("content-type", content_type)
        .header("content-encoding", "gzip")
        .body(gzipped)
        .timeout(WAIT)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// Exports one span named `name` with the real exporter over HTTP/protobuf, and waits until
/// the collector has it.
async fn export_and_wait(collector: &Collector, name: &'static str) {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(collector.http_endpoint(TRACES_PATH))
        .build()
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .build();
        provider.tracer("limits-test").in_span(name, |_| {});
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    let received = collector.received();
    let arrived = received
        .wait_for(|r| r.spans().iter().any(|s| s.span.name == name), WAIT)
        .await;
    assert!(arrived, "the exporter's span {name} did not arrive");
}

/// The length of the longest line of `path`, and the number of lines.
fn lines(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    (longest, text.lines().count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_2kb_gzip_bomb_is_refused_and_an_exporter_gets_through() {
    let dir = TempDir::new();
    let collector = start(CollectorConfig::in_memory().out_dir(&dir.0)).await;
    let protobuf_bomb = gzip(&empty_spans_protobuf(EMPTY_SPANS));
    let json_bomb = gzip(&empty_spans_json(EMPTY_SPANS));
    assert!(protobuf_bomb.len() < 4096, "{} bytes", protobuf_bomb.len());
    let (rss_before, peak_before) = (status_kib("VmRSS:"), status_kib("VmHWM:"));

    let bombs = async {
        for _ in 0..3 {
            assert_eq!(
                http_post(&collector, "application/x-protobuf", protobuf_bomb.clone()).await,
                413
            );
            assert_eq!(grpc_post(&collector, &protobuf_bomb, true).await, "8"); // RESOURCE_EXHAUSTED
            assert_eq!(
                http_post(&collector, "application/json", json_bomb.clone()).await,
                413
            );
        }
    };
    tokio::join!(bombs, export_and_wait(&collector, "normal-export"));

    let rss_growth = status_kib("VmRSS:").saturating_sub(rss_before) / 1024;
    let peak_growth = status_kib("VmHWM:").saturating_sub(peak_before) / 1024;
    assert!(
        peak_growth < 64,
        "peak RSS grew by {peak_growth} MiB (RSS by {rss_growth} MiB)"
    );
    let (longest, count) = lines(&dir.0.join(TRACES_FILE));
    assert_eq!(count, 1, "only the exporter's request is written");
    assert!(longest < 64 * 1024, "a {longest}-byte line was written");
    assert_eq!(collector.received().counts().spans, 1);
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_whose_line_is_too_long_is_refused_and_not_written() {
    let dir = TempDir::new();
    let collector = start(
        CollectorConfig::in_memory()
            .out_dir(&dir.0)
            .max_line_bytes(512),
    )
    .await;
    let span = field(5, &[b'x'; 600]); // Span.name
    let request = field(1, &field(2, &field(2, &span)));
    assert_eq!(
        http_post(&collector, "application/x-protobuf", gzip(&request)).await,
        413
    );
    assert_eq!(grpc_post(&collector, &gzip(&request), true).await, "8");
    assert_eq!(lines(&dir.0.join(TRACES_FILE)), (0, 0));
    assert_eq!(collector.received().counts().spans, 0);
    collector.shutdown().await.unwrap();
}

/// Opens a connection that sends a request head announcing a body, and no body: its request
/// holds a place in the collector until the body read times out.
async fn stalled_request(collector: &Collector) -> TcpStream {
    let mut stream = TcpStream::connect(collector.addr()).await.unwrap();
    let head = format!(
        "POST {TRACES_PATH} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 100\r\n\r\n",
        collector.addr()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn requests_past_the_concurrency_cap_are_told_to_retry() {
    let collector = start(CollectorConfig::in_memory().max_concurrent_requests(1)).await;
    let _stalled = stalled_request(&collector).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let response = reqwest::Client::new()
        .post(collector.http_endpoint(TRACES_PATH))
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(grpc_post(&collector, b"", false).await, "14"); // UNAVAILABLE
    drop(_stalled);
    collector.shutdown().await.unwrap();
}

/// Opens a connection and sends half a request head, never the rest.
async fn half_head(collector: &Collector) -> TcpStream {
    let mut stream = TcpStream::connect(collector.addr()).await.unwrap();
    let half = format!("POST {TRACES_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ");
    stream.write_all(half.as_bytes()).await.unwrap();
    stream
}

/// Waits until the server closes `stream` (EOF or reset); returns false after `limit`.
async fn closed_within(mut stream: TcpStream, limit: Duration) -> bool {
    let mut buf = [0; 1024];
    let read_until_closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, read_until_closed).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_request_heads_are_closed_and_an_exporter_gets_through() {
    let header_timeout = Duration::from_secs(1);
    let serve = ServeConfig::default().header_read_timeout(header_timeout);
    let collector = start(CollectorConfig::in_memory().serve(serve)).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.push(half_head(&collector).await);
    }
    export_and_wait(&collector, "while-slow-heads-wait").await;
    let closes = slow.into_iter().map(|stream| {
        tokio::spawn(closed_within(
            stream,
            header_timeout + Duration::from_secs(4),
        ))
    });
    for close in closes {
        assert!(close.await.unwrap(), "a slow connection was still open");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < header_timeout + Duration::from_secs(4),
        "{elapsed:?}"
    );
    collector.shutdown().await.unwrap();
}

//! End-to-end tests: the real `opentelemetry-otlp` exporters, over gRPC and over HTTP/protobuf,
//! plain and gzip, to a collector on `127.0.0.1:0`; and raw HTTP requests for the error paths.

use std::path::{Path, PathBuf};
use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, trace::TraceId};
use opentelemetry_otlp::{
    Compression, LogExporter, Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _,
    WithTonicConfig as _,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message as _;

use super::*;

const WAIT: Duration = Duration::from_secs(10);
const SPAN_NAME: &str = "checkout";
const LOG_BODY: &str = "order accepted";

#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    HttpProtobuf,
}

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let name = format!("ordertrail-collector-{}", uuid::Uuid::new_v4());
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

/// The exporters of `transport`, built inside the runtime (tonic needs one).
fn exporters(
    collector: &Collector,
    transport: Transport,
    compression: Option<Compression>,
) -> (SpanExporter, LogExporter) {
    match transport {
        Transport::Grpc => {
            let mut spans = SpanExporter::builder()
                .with_tonic()
                .with_endpoint(collector.grpc_endpoint());
            let mut logs = LogExporter::builder()
                .with_tonic()
                .with_endpoint(collector.grpc_endpoint());
            if let Some(compression) = compression {
                spans = spans.with_compression(compression);
                logs = logs.with_compression(compression);
            }
            (spans.build().unwrap(), logs.build().unwrap())
        }
        Transport::HttpProtobuf => {
            let mut spans = SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(collector.http_endpoint(TRACES_PATH));
            let mut logs = LogExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(collector.http_endpoint(LOGS_PATH));
            if let Some(compression) = compression {
                spans = spans.with_compression(compression);
                logs = logs.with_compression(compression);
            }
            (spans.build().unwrap(), logs.build().unwrap())
        }
    }
}

/// Ends one span and emits one log record in its trace through batch processors, then shuts
/// the providers down, which exports both. Runs on the blocking pool: the SDK blocks, and the
/// HTTP exporter's client is a blocking one.
async fn export_one_of_each(spans: SpanExporter, logs: LogExporter, service: &str) -> TraceId {
    let resource = Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    tokio::task::spawn_blocking(move || {
        let tracer_provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_batch_exporter(spans)
            .build();
        let logger_provider = SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_batch_exporter(logs)
            .build();
        let trace_id = emit(&tracer_provider, &logger_provider);
        tracer_provider.shutdown().unwrap();
        logger_provider.shutdown().unwrap();
        trace_id
    })
    .await
    .unwrap()
}

fn emit(tracer_provider: &SdkTracerProvider, logger_provider: &SdkLoggerProvider) -> TraceId {
    let tracer = tracer_provider.tracer("collector-test");
    let mut span = tracer
        .span_builder(SPAN_NAME)
        .with_attributes([
            KeyValue::new("order.id", "o-42"),
            KeyValue::new("order.items", 3_i64),
        ])
        .start(&tracer);
    let context = span.span_context().clone();
    let logger = logger_provider.logger("collector-test");
    let mut record = logger.create_log_record();
    record.set_body(AnyValue::from(LOG_BODY));
    record.add_attribute("order.id", "o-42");
    record.set_trace_context(context.trace_id(), context.span_id(), None);
    logger.emit(record);
    span.end();
    context.trace_id()
}

async fn assert_received(received: &Received, trace_id: TraceId, service: &str) {
    let arrived = received
        .wait_for(|r| !r.spans().is_empty() && !r.logs().is_empty(), WAIT)
        .await;
    assert!(
        arrived,
        "span and log did not arrive: {:?}",
        received.counts()
    );
    let spans = received.spans();
    let span = spans.iter().find(|s| s.span.name == SPAN_NAME).unwrap();
    assert_eq!(span.trace_id(), trace_id.to_string());
    assert_eq!(span.attribute_str("order.id"), Some("o-42"));
    assert_eq!(span.attribute_int("order.items"), Some(3));
    assert_eq!(span.service_name(), Some(service));
    assert_eq!(span.scope.as_ref().unwrap().name, "collector-test");
    let logs = received.logs();
    let log = logs
        .iter()
        .find(|l| l.body_str() == Some(LOG_BODY))
        .unwrap();
    assert_eq!(log.attribute_str("order.id"), Some("o-42"));
    assert_eq!(log.trace_id(), Some(trace_id.to_string()));
    assert_eq!(log.service_name(), Some(service));
}

/// Every line of a JSON-lines file, parsed as `T`.
fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().map(|line| serde_json::from_str(line).unwrap());
    lines.collect()
}

fn assert_files(dir: &Path, trace_id: TraceId) {
    // The OTLP/JSON spelling: camelCase names, hex ids.
    let traces: Vec<serde_json::Value> = read_lines(&dir.join(TRACES_FILE));
    let span = &traces[0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["name"], SPAN_NAME);
    assert_eq!(span["traceId"], trace_id.to_string());
    // And the lines parse back into the protobuf types.
    let requests: Vec<ExportTraceServiceRequest> = read_lines(&dir.join(TRACES_FILE));
    let mut spans = Vec::new();
    record::flatten_spans(&requests[0], &mut spans);
    assert_eq!(spans[0].attribute_str("order.id"), Some("o-42"));
    let logs: Vec<ExportLogsServiceRequest> = read_lines(&dir.join(LOGS_FILE));
    let mut records = Vec::new();
    record::flatten_logs(&logs[0], &mut records);
    assert_eq!(records[0].body_str(), Some(LOG_BODY));
    assert_eq!(records[0].trace_id(), Some(trace_id.to_string()));
}

async fn round_trip(transport: Transport, compression: Option<Compression>) {
    let dir = TempDir::new();
    let collector = start(CollectorConfig::in_memory().out_dir(&dir.0)).await;
    let (spans, logs) = exporters(&collector, transport, compression);
    let service = format!("{transport:?}-{compression:?}");
    let trace_id = export_one_of_each(spans, logs, &service).await;
    assert_received(&collector.received(), trace_id, &service).await;
    assert_files(&dir.0, trace_id);
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exports_arrive_in_memory_and_in_files() {
    round_trip(Transport::Grpc, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzipped_grpc_exports_arrive() {
    round_trip(Transport::Grpc, Some(Compression::Gzip)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_exports_arrive_in_memory_and_in_files() {
    round_trip(Transport::HttpProtobuf, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzipped_http_protobuf_exports_arrive() {
    round_trip(Transport::HttpProtobuf, Some(Compression::Gzip)).await;
}

fn one_span_request(name: &str) -> ExportTraceServiceRequest {
    let span = Span {
        name: name.to_owned(),
        trace_id: vec![7; 16],
        span_id: vec![9; 8],
        ..Span::default()
    };
    let scope_spans = ScopeSpans {
        spans: vec![span],
        ..ScopeSpans::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![scope_spans],
            ..ResourceSpans::default()
        }],
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post(url: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    let request = client().post(url).header("content-type", content_type);
    request.body(body).send().await.unwrap()
}

#[tokio::test]
async fn a_garbage_body_gets_400_and_the_collector_keeps_serving() {
    let collector = start(CollectorConfig::in_memory()).await;
    let url = collector.http_endpoint(TRACES_PATH);
    let bad = post(
        &url,
        "application/x-protobuf",
        b"not a protobuf message".to_vec(),
    )
    .await;
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(bad.headers()["content-type"], "application/x-protobuf");
    assert!(
        !bad.bytes().await.unwrap().is_empty(),
        "a google.rpc.Status body"
    );

    let good = one_span_request("after garbage").encode_to_vec();
    let ok = post(&url, "application/x-protobuf", good).await;
    assert_eq!(ok.status(), reqwest::StatusCode::OK);
    assert_eq!(ok.headers()["content-type"], "application/x-protobuf");
    let answer = ExportTraceServiceResponse::decode(ok.bytes().await.unwrap()).unwrap();
    assert_eq!(answer, ExportTraceServiceResponse::default());
    let spans = collector.received().spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].span.name, "after garbage");
    assert_eq!(spans[0].trace_id(), "07".repeat(16));
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn otlp_json_is_accepted_and_answered_in_json() {
    let collector = start(CollectorConfig::in_memory()).await;
    let body = serde_json::to_vec(&one_span_request("from json")).unwrap();
    let url = collector.http_endpoint(TRACES_PATH);
    let response = post(&url, "application/json", body).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let _: serde_json::Value = response.json().await.unwrap();
    assert_eq!(collector.received().spans()[0].span.name, "from json");
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_paths_and_media_types_are_refused() {
    let collector = start(CollectorConfig::in_memory()).await;
    let profiles = collector.http_endpoint("/v1development/profiles");
    let elsewhere = post(&profiles, "application/x-protobuf", vec![]).await;
    assert_eq!(elsewhere.status(), reqwest::StatusCode::NOT_FOUND);
    let url = collector.http_endpoint(LOGS_PATH);
    let text = post(&url, "text/plain", b"hello".to_vec()).await;
    assert_eq!(text.status(), reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(collector.received().counts(), Counts::default());
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_memory_only_files_and_counts_grow() {
    let dir = TempDir::new();
    let collector = start(CollectorConfig::default().out_dir(&dir.0)).await;
    let body = one_span_request("to disk").encode_to_vec();
    let url = collector.http_endpoint(TRACES_PATH);
    assert!(
        post(&url, "application/x-protobuf", body)
            .await
            .status()
            .is_success()
    );
    let received = collector.received();
    assert!(received.spans().is_empty());
    assert_eq!(received.counts().spans, 1);
    let lines: Vec<ExportTraceServiceRequest> = read_lines(&dir.0.join(TRACES_FILE));
    assert_eq!(lines, vec![one_span_request("to disk")]);
    collector.shutdown().await.unwrap();
}

/// Records one histogram value through a real meter provider exporting over `transport`, and
/// shuts the provider down, which exports it.
async fn export_one_histogram(collector: &Collector, transport: Transport) {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_otlp::MetricExporter;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
    let exporter = match transport {
        Transport::Grpc => MetricExporter::builder()
            .with_tonic()
            .with_endpoint(collector.grpc_endpoint())
            .build(),
        Transport::HttpProtobuf => MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(collector.http_endpoint(METRICS_PATH))
            .build(),
    }
    .unwrap();
    tokio::task::spawn_blocking(move || {
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter).build())
            .build();
        let histogram = provider
            .meter("collector-test")
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .build();
        histogram.record(0.042, &[KeyValue::new("http.route", "/orders")]);
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn metrics_from_the_real_exporters_reach_metrics_jsonl() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    for transport in [Transport::Grpc, Transport::HttpProtobuf] {
        let dir = TempDir::new();
        let collector = start(CollectorConfig::in_memory().out_dir(&dir.0)).await;
        export_one_histogram(&collector, transport).await;
        let received = collector.received();
        let arrived = received
            .wait_for(|r| r.counts().metric_points > 0, WAIT)
            .await;
        assert!(
            arrived,
            "{transport:?}: no metrics: {:?}",
            received.counts()
        );
        let lines: Vec<ExportMetricsServiceRequest> = read_lines(&dir.0.join(METRICS_FILE));
        let metric = &lines[0].resource_metrics[0].scope_metrics[0].metrics[0];
        assert_eq!(metric.name, "http.server.request.duration");
        let Some(Data::Histogram(histogram)) = &metric.data else {
            panic!("{transport:?}: not a histogram: {metric:?}");
        };
        let point = &histogram.data_points[0];
        assert_eq!((point.count, point.sum), (1, Some(0.042)));
        assert_eq!(
            attributes::attribute_str(&point.attributes, "http.route"),
            Some("/orders")
        );
        collector.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn its_own_counts_are_on_metrics() {
    let collector = start(CollectorConfig::in_memory()).await;
    let body = one_span_request("counted").encode_to_vec();
    let url = collector.http_endpoint(TRACES_PATH);
    assert!(
        post(&url, "application/x-protobuf", body)
            .await
            .status()
            .is_success()
    );
    let scrape = reqwest::Client::new()
        .get(collector.http_endpoint(METRICS_ROUTE))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap();
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = scrape.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for line in [
        r#"ordertrail_collector_requests_total{signal="traces"} 1"#,
        r#"ordertrail_collector_items_total{signal="traces"} 1"#,
        r#"ordertrail_collector_items_total{signal="metrics"} 0"#,
        "ordertrail_collector_write_failures_total 0",
        "# EOF",
    ] {
        assert!(lines.contains(&line), "no {line:?} in:\n{text}");
    }
    collector.shutdown().await.unwrap();
}

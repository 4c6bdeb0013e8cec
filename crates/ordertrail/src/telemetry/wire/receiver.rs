//! A real OTLP/HTTP receiver for the library's tests: it listens on a loopback port, from a
//! thread of its own, and decodes every request as protobuf.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use super::transport::{ExportRuntime, Sender, Signal, Target};
use super::{LogRecords, RecordExport};
use crate::telemetry::{BatchSettings, OtlpProtocol};

/// What the receiver decoded so far.
#[derive(Debug, Default)]
struct Received {
    spans: Vec<Span>,
    records: Vec<LogRecord>,
}

type Shared = Arc<Mutex<Received>>;

/// An OTLP/HTTP receiver on `base` (`http://127.0.0.1:<port>`).
#[derive(Debug)]
pub(crate) struct Receiver {
    pub(crate) base: String,
    received: Shared,
}

impl Receiver {
    /// Starts it on a runtime and thread of its own, so it answers while a test's runtime
    /// is blocked.
    pub(crate) fn start() -> Self {
        let received = Shared::default();
        let state = Arc::clone(&received);
        let (started, base) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let app = Router::new()
                    .route("/v1/traces", post(traces))
                    .route("/v1/logs", post(logs))
                    .with_state(state);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                started.send(format!("http://{addr}")).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self {
            base: base.recv().expect("the receiver started"),
            received,
        }
    }

    /// The names of the spans received.
    pub(crate) fn span_names(&self) -> Vec<String> {
        let spans = lock(&self.received).spans.clone();
        spans.into_iter().map(|span| span.name).collect()
    }

    /// The spans received.
    pub(crate) fn spans(&self) -> Vec<Span> {
        lock(&self.received).spans.clone()
    }

    /// The log records received.
    pub(crate) fn records(&self) -> Vec<LogRecord> {
        lock(&self.received).records.clone()
    }

    /// A record export sending here over HTTP/protobuf.
    pub(crate) fn record_export(&self) -> RecordExport {
        let endpoint = format!("{}/v1/logs", self.base);
        let target = Target {
            signal: Signal::Logs,
            protocol: OtlpProtocol::HttpProtobuf,
            endpoint: &endpoint,
            headers: &[],
            timeout: Duration::from_secs(5),
        };
        let sender = Sender::new(&target, ExportRuntime::shared().unwrap()).unwrap();
        let resource = opentelemetry_sdk::Resource::builder_empty().build();
        let counters = Arc::default();
        let kind = LogRecords {
            version: "0.0.0".into(),
        };
        RecordExport::start(kind, sender, resource, &BatchSettings::default(), counters).unwrap()
    }
}

fn lock(received: &Shared) -> std::sync::MutexGuard<'_, Received> {
    received.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn traces(State(received): State<Shared>, body: Bytes) {
    let request = ExportTraceServiceRequest::decode(body).expect("a trace export request");
    let spans = request
        .resource_spans
        .into_iter()
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans);
    lock(&received).spans.extend(spans);
}

async fn logs(State(received): State<Shared>, body: Bytes) {
    let request = ExportLogsServiceRequest::decode(body).expect("a logs export request");
    let records = request
        .resource_logs
        .into_iter()
        .flat_map(|r| r.scope_logs)
        .flat_map(|s| s.log_records);
    lock(&received).records.extend(records);
}

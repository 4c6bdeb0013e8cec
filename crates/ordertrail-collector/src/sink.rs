//! [`Sink`]: where decoded export requests go, whichever protocol brought them.
//!
//! Both the gRPC services and the HTTP handlers hand each request to the same sink, which
//!
//! 1. appends it as one OTLP/JSON line to the output directory, if there is one, and
//! 2. records it in [`Received`] (counted always, kept only when configured).
//!
//! The file write finishes before the exporter gets its answer, so once an export call returns,
//! its line is on disk. The write runs on Tokio's blocking pool, never on a runtime worker.
//!
//! Nothing here logs per request: the collector may run inside a process whose own telemetry
//! is exported to it, and a log line per received span would feed itself.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Serialize;

use super::config::CollectorConfig;
use super::files::{JsonlFiles, Signal};
use super::received::Received;

/// The destination of every decoded export request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sink {
    received: Received,
    files: Option<Arc<JsonlFiles>>,
}

impl Sink {
    /// Opens the output files of `config` (creating the directory) and an empty [`Received`].
    pub fn open(config: &CollectorConfig) -> std::io::Result<Self> {
        let files = match &config.out_dir {
            Some(dir) => Some(Arc::new(JsonlFiles::open(dir)?)),
            None => None,
        };
        Ok(Self {
            received: Received::new(config.keep_in_memory),
            files,
        })
    }

    /// A handle on what this sink has received.
    pub fn received(&self) -> Received {
        self.received.clone()
    }

    /// Writes and records one trace export request.
    pub async fn traces(&self, request: ExportTraceServiceRequest) {
        self.write(Signal::Traces, &request).await;
        self.received.push_traces(request);
    }

    /// Writes and records one log export request.
    pub async fn logs(&self, request: ExportLogsServiceRequest) {
        self.write(Signal::Logs, &request).await;
        self.received.push_logs(request);
    }

    async fn write(&self, signal: Signal, request: &impl Serialize) {
        let Some(files) = &self.files else {
            return;
        };
        let line = match serde_json::to_vec(request) {
            Ok(line) => line,
            Err(error) => return files.warn_once(&error),
        };
        let files = Arc::clone(files);
        // A JoinError means the write panicked or the runtime is shutting down: either way the
        // line is lost, and there is nothing more useful to do with the request.
        let _ = tokio::task::spawn_blocking(move || files.append(signal, line)).await;
    }
}

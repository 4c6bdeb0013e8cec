//! [`Sink`]: where decoded export requests go, whichever protocol brought them.
//!
//! Both the gRPC services and the HTTP handlers hand each request to the same sink, which
//!
//! 1. appends it as one OTLP/JSON line to the output directory, if there is one, and
//! 2. records it in [`Received`] (counted always, kept only when configured).
//!
//! The file write finishes before the exporter gets its answer, so once an export call returns,
//! its line is on disk. A request whose line would pass [`Limits::max_line_bytes`] is refused
//! whole: serializing stops at the limit, and nothing is written or kept. The write runs on
//! Tokio's blocking pool, never on a runtime worker.
//!
//! A request whose line could not be written (a full disk, a failing device) is refused with
//! [`SinkError::Unwritten`], which the protocols answer as retryable (`503` with `Retry-After`,
//! `UNAVAILABLE`): the exporter sends it again later, and its own loss counters see the refusal
//! if it gives up. The failure is counted in [`Counts::write_failures`](super::Counts) and the
//! request is not recorded as received.
//!
//! Nothing here logs per request: the collector may run inside a process whose own telemetry
//! is exported to it, and a log line per received span would feed itself.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Serialize;

use super::config::CollectorConfig;
use super::files::{JsonlFiles, Signal};
use super::limits::{LimitError, Limits};
use super::received::Received;

/// Why the sink refused an export request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The request is over one of the [`Limits`]; sending it again cannot help.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// Its line could not be written to the output files (the disk may be full); nothing of it
    /// was kept, and sending it again later may succeed.
    #[error("the collector could not write the request to its output files; retry later")]
    Unwritten(#[source] std::io::Error),
}

/// The destination of every decoded export request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sink {
    received: Received,
    files: Option<Arc<JsonlFiles>>,
    limits: Limits,
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
            limits: config.limits,
        })
    }

    /// The limits every request to this sink is held to.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A handle on what this sink has received.
    pub fn received(&self) -> Received {
        self.received.clone()
    }

    /// Writes and records one trace export request, or refuses it when its line is too long
    /// or could not be written.
    pub async fn traces(&self, request: ExportTraceServiceRequest) -> Result<(), SinkError> {
        self.write(Signal::Traces, &request).await?;
        self.received.push_traces(request);
        Ok(())
    }

    /// Writes and records one log export request, or refuses it when its line is too long or
    /// could not be written.
    pub async fn logs(&self, request: ExportLogsServiceRequest) -> Result<(), SinkError> {
        self.write(Signal::Logs, &request).await?;
        self.received.push_logs(request);
        Ok(())
    }

    /// Writes and records one metric export request, or refuses it when its line is too long
    /// or could not be written.
    pub async fn metrics(&self, request: ExportMetricsServiceRequest) -> Result<(), SinkError> {
        self.write(Signal::Metrics, &request).await?;
        self.received.push_metrics(request);
        Ok(())
    }

    /// Writes the line of `request`, counting a failed write.
    async fn write(&self, signal: Signal, request: &impl Serialize) -> Result<(), SinkError> {
        let written = self.write_line(signal, request).await;
        if let Err(SinkError::Unwritten(_)) = &written {
            self.received.count_write_failure();
        }
        written
    }

    async fn write_line(&self, signal: Signal, request: &impl Serialize) -> Result<(), SinkError> {
        let Some(files) = &self.files else {
            return Ok(());
        };
        let limit = self.limits.max_line_bytes;
        let mut line = LineBuf {
            line: Vec::new(),
            limit,
        };
        if let Err(error) = serde_json::to_writer(&mut line, request) {
            if error.is_io() {
                return Err(LimitError::Line { limit }.into());
            }
            files.warn_once(&error);
            return Ok(());
        }
        let files = Arc::clone(files);
        // A JoinError means the write panicked or the runtime is shutting down: either way the
        // line is not on disk, which the exporter must hear.
        let written = tokio::task::spawn_blocking(move || files.append(signal, line.line)).await;
        match written {
            Ok(result) => result.map_err(SinkError::Unwritten),
            Err(join) => Err(SinkError::Unwritten(std::io::Error::other(join))),
        }
    }
}

/// A line being serialized, which fails (as an I/O error) rather than grow past `limit`.
struct LineBuf {
    line: Vec<u8>,
    limit: usize,
}

impl std::io::Write for LineBuf {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.line.len() + bytes.len() > self.limit {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

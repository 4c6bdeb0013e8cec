//! What [`init`](super::init) needs to know: built by the binary from flags and environment
//! (the library itself never reads environment variables).

use std::path::PathBuf;
use std::time::Duration;

/// How log lines look on stdout. Files always get JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (the default; what log shippers and `jq` read).
    #[default]
    Json,
    /// Short human-readable lines, coloured on a terminal, for local work.
    Pretty,
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP over gRPC (`grpc`, port 4317 by convention).
    #[default]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (`http/protobuf`, port 4318 by convention).
    HttpProtobuf,
}

/// Which traces are sampled (`OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum SamplerChoice {
    /// Every trace.
    AlwaysOn,
    /// None.
    AlwaysOff,
    /// This share of traces, by trace id.
    TraceIdRatio(f64),
    /// Follow the caller's decision; sample every new trace (the default).
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the caller's decision; sample no new trace.
    ParentBasedAlwaysOff,
    /// Follow the caller's decision; sample this share of new traces.
    ParentBasedTraceIdRatio(f64),
}

/// How spans and log records are batched before export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// How often a batch is sent (`OTEL_BSP_SCHEDULE_DELAY`; default 1 s).
    pub delay: Duration,
    /// Spans or records held before new ones are dropped (default 2048 each).
    pub queue_size: usize,
    /// Longest wait for one export call (default 5 s).
    pub export_timeout: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            delay: Duration::from_secs(1),
            queue_size: 2048,
            export_timeout: Duration::from_secs(5),
        }
    }
}

/// Telemetry settings of one process.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// The service name: `service` on log lines and `service.name` on the resource.
    pub service: String,
    /// How stdout lines look.
    pub log_format: LogFormat,
    /// A file to append JSON lines to, besides stdout.
    pub log_file: Option<PathBuf>,
    /// `RUST_LOG`-style directives; `info` when empty.
    pub log_filter: String,
    /// No OpenTelemetry at all (`OTEL_SDK_DISABLED=true`): no spans, no trace ids, no export.
    pub sdk_disabled: bool,
    /// Where spans go (a full URL; for HTTP it ends in `/v1/traces`). `None`: not exported.
    pub traces_endpoint: Option<String>,
    /// Where log records go (for HTTP it ends in `/v1/logs`). `None`: not exported.
    pub logs_endpoint: Option<String>,
    /// The OTLP transport.
    pub protocol: OtlpProtocol,
    /// Which traces are sampled.
    pub sampler: SamplerChoice,
    /// Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`), applied over the defaults.
    pub resource_attributes: Vec<(String, String)>,
    /// `service.instance.id`: unique per process (a fresh UUID unless set).
    pub instance_id: String,
    /// Batching and export bounds.
    pub batch: BatchSettings,
    /// The worker index of a process started by a master (`serve --workers N`): JSON lines
    /// then carry `"worker":N` right after `pid`. `None` for a single process or a master.
    pub worker: Option<u32>,
    /// How often export losses are reported as a `WARN` line, while there are new ones.
    pub loss_report_every: Duration,
}

impl TelemetryConfig {
    /// JSON lines on stdout, level `info`, no file, spans and trace ids but no export.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            log_format: LogFormat::Json,
            log_file: None,
            log_filter: String::new(),
            sdk_disabled: false,
            traces_endpoint: None,
            logs_endpoint: None,
            protocol: OtlpProtocol::Grpc,
            sampler: SamplerChoice::default(),
            resource_attributes: Vec::new(),
            instance_id: uuid::Uuid::new_v4().to_string(),
            batch: BatchSettings::default(),
            loss_report_every: crate::logging::REPORT_EVERY,
            worker: None,
        }
    }

    /// Marks this process as worker `index` of a master.
    pub fn worker(mut self, index: u32) -> Self {
        self.worker = Some(index);
        self
    }

    /// Sets the stdout format.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Also appends JSON lines to `path`.
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Sets the filter directives (the syntax of `RUST_LOG`).
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.log_filter = directives.into();
        self
    }

    /// Exports spans and log records to an OTLP base endpoint, like `http://127.0.0.1:4317`
    /// (for HTTP, `/v1/traces` and `/v1/logs` are appended).
    pub fn otlp_endpoint(mut self, base: &str, protocol: OtlpProtocol) -> Self {
        let (traces, logs) = signal_endpoints(base, protocol);
        self.traces_endpoint = Some(traces);
        self.logs_endpoint = Some(logs);
        self.protocol = protocol;
        self
    }
}

/// The per-signal URLs for a base endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` defines them.
pub fn signal_endpoints(base: &str, protocol: OtlpProtocol) -> (String, String) {
    let base = base.trim_end_matches('/');
    match protocol {
        OtlpProtocol::Grpc => (base.to_owned(), base.to_owned()),
        OtlpProtocol::HttpProtobuf => (format!("{base}/v1/traces"), format!("{base}/v1/logs")),
    }
}

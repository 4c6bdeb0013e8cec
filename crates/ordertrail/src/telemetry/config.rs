//! [`TelemetryConfig`]: what [`init`](super::init) and [`layers`](super::layers) need to know.
//! Built in code, or from the standard environment variables with
//! [`TelemetryConfig::from_env`] (feature `env`); nothing else here reads the environment.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::redact::Redact;
use std::time::Duration;

/// How log lines look on stdout. Files always get JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
#[non_exhaustive]
pub struct BatchSettings {
    /// How often a batch is sent (`OTEL_BSP_SCHEDULE_DELAY`; default 1 s).
    pub delay: Duration,
    /// Spans or records held before new ones are dropped (default 2048 each).
    pub queue_size: usize,
    /// Longest wait for one export call (default 5 s).
    pub export_timeout: Duration,
}

impl BatchSettings {
    /// Sets how often a batch is sent.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets how many spans or records are held before new ones are dropped.
    #[must_use]
    pub fn queue_size(mut self, size: usize) -> Self {
        self.queue_size = size;
        self
    }

    /// Sets the longest wait for one export call.
    #[must_use]
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }
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

/// Telemetry settings of one process. Start from [`TelemetryConfig::new`] with your service's
/// name and version, then change what differs with the builder methods.
///
/// ```
/// use ordertrail::telemetry::{LogFormat, OtlpProtocol, TelemetryConfig};
///
/// let config = TelemetryConfig::new("checkout", "1.4.2")
///     .service_namespace("shop")
///     .log_format(LogFormat::Pretty)
///     .otlp_endpoint("http://127.0.0.1:4317", OtlpProtocol::Grpc);
/// assert_eq!(config.service, "checkout");
/// assert_eq!(config.traces_endpoint.as_deref(), Some("http://127.0.0.1:4317"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct TelemetryConfig {
    /// The service name: `service` on log lines and `service.name` on the resource.
    pub service: String,
    /// `service.version` on the resource: your service's version.
    pub service_version: String,
    /// `service.namespace` on the resource, when set.
    pub service_namespace: Option<String>,
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
    /// Headers sent with every span and log record export (`OTEL_EXPORTER_OTLP_HEADERS`): a
    /// collector's or vendor's API key, say.
    pub otlp_headers: Vec<(String, String)>,
    /// Which traces are sampled.
    pub sampler: SamplerChoice,
    /// Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`), applied over the defaults.
    pub resource_attributes: Vec<(String, String)>,
    /// `service.instance.id`: unique per process (a fresh UUID unless set).
    pub instance_id: String,
    /// Batching and export bounds.
    pub batch: BatchSettings,
    /// Fields written at the top level of every JSON line, right after `pid` (a worker's
    /// index, a deployment's region…).
    pub line_fields: Vec<(String, serde_json::Value)>,
    /// How often export losses are reported as a `WARN` line, while there are new ones.
    pub loss_report_every: Duration,
    /// The redaction policy to install (default: card numbers; see [`crate::redact`]).
    pub redact: Option<Arc<dyn Redact>>,
    /// The flight recorder: the `DEBUG` detail of failed or slow requests (see
    /// [`crate::recorder`]).
    pub recorder: crate::recorder::RecorderConfig,
    /// The metrics registry to record HTTP spans into (see [`crate::metrics`]); `None`: none.
    pub metrics: Option<crate::metrics::Metrics>,
    /// Where metrics go over OTLP (for HTTP it ends in `/v1/metrics`). `None`: not exported.
    pub metrics_endpoint: Option<String>,
    /// How often metrics are exported (`OTEL_METRIC_EXPORT_INTERVAL`; default 60 s).
    pub metric_export_interval: Duration,
}

impl TelemetryConfig {
    /// JSON lines on stdout, level `info`, no file, spans and trace ids but no export, for
    /// the service `name` at `version` (pass `env!("CARGO_PKG_VERSION")`).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            service: name.into(),
            service_version: version.into(),
            service_namespace: None,
            log_format: LogFormat::Json,
            log_file: None,
            log_filter: String::new(),
            sdk_disabled: false,
            traces_endpoint: None,
            logs_endpoint: None,
            protocol: OtlpProtocol::Grpc,
            otlp_headers: Vec::new(),
            sampler: SamplerChoice::default(),
            resource_attributes: Vec::new(),
            instance_id: uuid::Uuid::new_v4().to_string(),
            batch: BatchSettings::default(),
            loss_report_every: crate::logging::REPORT_EVERY,
            line_fields: Vec::new(),
            redact: None,
            recorder: crate::recorder::RecorderConfig::default(),
            metrics: None,
            metrics_endpoint: None,
            metric_export_interval: Duration::from_secs(60),
        }
    }

    /// Records RED metrics of every request and call into `metrics` (and, with a metrics
    /// endpoint, exports them over OTLP too). Serve them with [`crate::metrics::router`].
    #[must_use]
    pub fn metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Sets how often metrics are exported over OTLP.
    #[must_use]
    pub fn metric_export_interval(mut self, period: Duration) -> Self {
        self.metric_export_interval = period;
        self
    }

    /// Sets the flight recorder's settings (see [`crate::recorder`]).
    #[must_use]
    pub fn recorder(mut self, recorder: crate::recorder::RecorderConfig) -> Self {
        self.recorder = recorder;
        self
    }

    /// Installs `policy` as the process's redaction policy when telemetry starts (see
    /// [`crate::redact`]); every string of every log output passes through it.
    #[must_use]
    pub fn redact(mut self, policy: impl Redact) -> Self {
        self.redact = Some(Arc::new(policy));
        self
    }

    /// Sets `service.namespace` on the resource.
    #[must_use]
    pub fn service_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.service_namespace = Some(namespace.into());
        self
    }

    /// Adds a field at the top level of every JSON line, right after `pid`.
    #[must_use]
    pub fn line_field(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.line_fields.push((key.into(), value.into()));
        self
    }

    /// Sets the stdout format.
    #[must_use]
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Also appends JSON lines to `path`.
    #[must_use]
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Sets the filter directives (the syntax of `RUST_LOG`).
    #[must_use]
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.log_filter = directives.into();
        self
    }

    /// Turns OpenTelemetry off entirely: no spans, no trace ids, no export.
    #[must_use]
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.sdk_disabled = disabled;
        self
    }

    /// Exports spans and log records (and metrics, when [`metrics`](Self::metrics) is set) to
    /// an OTLP base endpoint, like `http://127.0.0.1:4317` (for HTTP, `/v1/traces`, `/v1/logs`
    /// and `/v1/metrics` are appended).
    #[must_use]
    pub fn otlp_endpoint(mut self, base: &str, protocol: OtlpProtocol) -> Self {
        let (traces, logs) = signal_endpoints(base, protocol);
        self.traces_endpoint = Some(traces);
        self.logs_endpoint = Some(logs);
        self.metrics_endpoint = Some(metrics_endpoint(base, protocol));
        self.protocol = protocol;
        self
    }

    /// Adds a header to every span and log record export.
    #[must_use]
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp_headers.push((name.into(), value.into()));
        self
    }

    /// Which traces are sampled.
    #[must_use]
    pub fn sampler(mut self, sampler: SamplerChoice) -> Self {
        self.sampler = sampler;
        self
    }

    /// Adds a resource attribute (over the defaults).
    #[must_use]
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Sets `service.instance.id` (default: a fresh UUID per process).
    #[must_use]
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = id.into();
        self
    }

    /// Sets the batching and export bounds.
    #[must_use]
    pub fn batch(mut self, batch: BatchSettings) -> Self {
        self.batch = batch;
        self
    }

    /// How often export losses are reported while there are new ones (default 10 s).
    #[must_use]
    pub fn loss_report_every(mut self, period: Duration) -> Self {
        self.loss_report_every = period;
        self
    }
}

impl fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryConfig")
            .field("service", &self.service)
            .field("service_version", &self.service_version)
            .field("service_namespace", &self.service_namespace)
            .field("log_format", &self.log_format)
            .field("log_file", &self.log_file)
            .field("log_filter", &self.log_filter)
            .field("sdk_disabled", &self.sdk_disabled)
            .field("traces_endpoint", &self.traces_endpoint)
            .field("logs_endpoint", &self.logs_endpoint)
            .field("protocol", &self.protocol)
            // Header values are often API keys: their names only.
            .field(
                "otlp_headers",
                &self
                    .otlp_headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("sampler", &self.sampler)
            .field("resource_attributes", &self.resource_attributes)
            .field("instance_id", &self.instance_id)
            .field("batch", &self.batch)
            .field("line_fields", &self.line_fields)
            .field("loss_report_every", &self.loss_report_every)
            .field("redact", &self.redact.is_some())
            .field("recorder", &self.recorder)
            .field("metrics", &self.metrics)
            .field("metrics_endpoint", &self.metrics_endpoint)
            .field("metric_export_interval", &self.metric_export_interval)
            .finish()
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

/// The metrics URL for a base endpoint (`/v1/metrics` appended for HTTP).
pub(crate) fn metrics_endpoint(base: &str, protocol: OtlpProtocol) -> String {
    let base = base.trim_end_matches('/');
    match protocol {
        OtlpProtocol::Grpc => base.to_owned(),
        OtlpProtocol::HttpProtobuf => format!("{base}/v1/metrics"),
    }
}

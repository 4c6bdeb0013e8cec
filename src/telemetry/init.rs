//! [`init`]: installs the global subscriber; [`TelemetryGuard`]: flushes it at exit.
//!
//! Layers, each with its own filter:
//! - logs to stdout/file (JSON or human), filtered by `RUST_LOG` (default `info`);
//! - spans to OpenTelemetry (`tracing-opentelemetry`), unless the SDK is disabled — spans only:
//!   events go out once, as log records, not again as span events;
//! - log records to OTLP, when a logs endpoint is set.
//!
//! The two OpenTelemetry layers never see the exporter's own crates (hyper, h2, tonic, tower,
//! reqwest, opentelemetry): exporting those events would export the export, forever.
//!
//! Must run inside a tokio runtime that outlives the guard: the gRPC exporter spawns its
//! connection tasks on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use super::counting::ExportCounters;
use super::logs::logger_provider;
use super::report::spawn_loss_reporter;
use super::resource::resource;
use super::traces::tracer_provider;
use super::{LogFormat, TelemetryConfig};
use crate::logging::{
    HumanLayer, JsonLayer, LogOutputs, OtlpLogLayer, OutputError, install_panic_hook,
};
use crate::propagation::install_propagators;

/// Targets the OpenTelemetry layers never see (pitfall: the exporter exporting itself).
const SELF_EXPORT_OFF: &str = "h2=off,hyper=off,hyper_util=off,tonic=off,tower=off,reqwest=off,opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off";

/// Setting telemetry up, or shutting it down, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The filter directives do not parse.
    #[error("invalid log filter {directives:?}")]
    Filter {
        /// The directives given.
        directives: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A log output could not be opened.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// An OTLP exporter could not be built (a malformed endpoint, say).
    #[error("cannot build the OTLP {signal} exporter")]
    Exporter {
        /// `traces` or `logs`.
        signal: &'static str,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A global subscriber is already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
    /// Flushing a signal at shutdown failed or ran out of time; its pending data is lost.
    #[error("flushing {signal} at shutdown failed")]
    Shutdown {
        /// `traces` or `logs`.
        signal: &'static str,
        /// Why.
        #[source]
        source: OTelSdkError,
    },
}

/// Owns the providers, the log writers and the reporters. Hold it for the life of the process
/// and call [`shutdown`](Self::shutdown) last.
#[must_use = "dropping the guard stops telemetry"]
pub struct TelemetryGuard {
    tracer: Option<SdkTracerProvider>,
    logger: Option<SdkLoggerProvider>,
    outputs: Option<LogOutputs>,
    stop_reporter: Arc<AtomicBool>,
    spans: Arc<ExportCounters>,
    logs: Arc<ExportCounters>,
}

impl TelemetryGuard {
    /// Counters of span export: exported, failed, dropped.
    pub fn span_counters(&self) -> &ExportCounters {
        &self.spans
    }

    /// Counters of log record export.
    pub fn log_counters(&self) -> &ExportCounters {
        &self.logs
    }

    /// Flushes within `budget`, in order: spans, then log records (which may include lines
    /// about the span flush), then log lines. Every failure is returned, none stops the rest.
    ///
    /// Blocking: on a current-thread runtime call it from `spawn_blocking`, or the exporter's
    /// connection cannot make progress while it waits.
    pub fn shutdown(mut self, budget: Duration) -> Vec<TelemetryError> {
        let start = Instant::now();
        let left = || budget.saturating_sub(start.elapsed());
        let mut errors = Vec::new();
        self.stop_reporter.store(true, Ordering::Relaxed);
        if let Some(Err(source)) = self.tracer.take().map(|t| t.shutdown_with_timeout(left())) {
            errors.push(TelemetryError::Shutdown {
                signal: "traces",
                source,
            });
        }
        if let Some(Err(source)) = self.logger.take().map(|l| l.shutdown_with_timeout(left())) {
            errors.push(TelemetryError::Shutdown {
                signal: "logs",
                source,
            });
        }
        if let Some(outputs) = self.outputs.take() {
            outputs.flush();
        }
        errors
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber described by `config`, the propagators and the panic hook.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let outputs = LogOutputs::open(config.log_file.as_deref())?;
    let mut layers = log_layers(config, &outputs)?;
    let (spans, logs) = (
        Arc::<ExportCounters>::default(),
        Arc::<ExportCounters>::default(),
    );
    let (mut tracer, mut logger) = (None, None);
    if !config.sdk_disabled {
        install_propagators();
        let resource = resource(config);
        let provider = tracer_provider(config, resource.clone(), &spans)?;
        let otel = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("ordertrail"))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false);
        // Spans only: events reach the collector as OTLP log records, not as span events too.
        let spans_only = otel_filter(config)?.and(filter_fn(|meta| meta.is_span()));
        layers.push(otel.with_filter(spans_only).boxed());
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracer = Some(provider);
        if let Some(provider) = logger_provider(config, resource, &logs)? {
            let bridge = OtlpLogLayer::new(provider.logger("ordertrail"), config.service.as_str());
            layers.push(bridge.with_filter(otel_filter(config)?).boxed());
            logger = Some(provider);
        }
    }
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)?;
    install_panic_hook();
    let stop_reporter = Arc::new(AtomicBool::new(false));
    if config.traces_endpoint.is_some() || config.logs_endpoint.is_some() {
        spawn_loss_reporter(
            Arc::clone(&spans),
            Arc::clone(&logs),
            Arc::clone(&stop_reporter),
            config.loss_report_every,
        );
    }
    Ok(TelemetryGuard {
        tracer,
        logger,
        outputs: Some(outputs),
        stop_reporter,
        spans,
        logs,
    })
}

use opentelemetry::logs::LoggerProvider as _;

fn log_layers(
    config: &TelemetryConfig,
    outputs: &LogOutputs,
) -> Result<Vec<BoxedLayer>, TelemetryError> {
    let service = config.service.as_str();
    let filter = || log_filter(config);
    let stdout = outputs.stdout.clone();
    let mut layers: Vec<BoxedLayer> = Vec::new();
    match (config.log_format, outputs.file.clone()) {
        (LogFormat::Json, None) => layers.push(
            JsonLayer::new(service, stdout)
                .worker(config.worker)
                .with_filter(filter()?)
                .boxed(),
        ),
        (LogFormat::Json, Some(file)) => {
            layers.push(
                JsonLayer::new(service, stdout.and(file))
                    .worker(config.worker)
                    .with_filter(filter()?)
                    .boxed(),
            );
        }
        (LogFormat::Pretty, file) => {
            layers.push(HumanLayer::new(stdout).with_filter(filter()?).boxed());
            if let Some(file) = file {
                layers.push(
                    JsonLayer::new(service, file)
                        .worker(config.worker)
                        .with_filter(filter()?)
                        .boxed(),
                );
            }
        }
    }
    Ok(layers)
}

/// The log filter: the configured directives, `info` when none.
fn log_filter(config: &TelemetryConfig) -> Result<EnvFilter, TelemetryError> {
    parse_filter(directives(config))
}

/// The OpenTelemetry layers' filter: the log filter minus the exporter's own crates.
fn otel_filter(config: &TelemetryConfig) -> Result<EnvFilter, TelemetryError> {
    parse_filter(&format!("{},{SELF_EXPORT_OFF}", directives(config)))
}

fn directives(config: &TelemetryConfig) -> &str {
    if config.log_filter.trim().is_empty() {
        "info"
    } else {
        config.log_filter.as_str()
    }
}

fn parse_filter(directives: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::builder()
        .parse(directives)
        .map_err(|source| TelemetryError::Filter {
            directives: directives.to_owned(),
            source,
        })
}

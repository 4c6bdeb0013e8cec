//! [`init`]: installs the global subscriber; [`layers`]: the same layers, for a subscriber of
//! your own.
//!
//! Layers, each with a filter of its own:
//! - the log outputs, under the configured directives (default `info`): lines to stdout/file
//!   (JSON or human) and, when a logs endpoint is set, log records to OTLP (which leave out the
//!   exporter's own crates themselves), between the two event marks that let them flatten each
//!   event once;
//! - spans to OpenTelemetry (`tracing-opentelemetry`), unless the SDK is disabled — spans only:
//!   events go out once, as log records, not again as span events;
//! - the flight recorder and the RED metrics, when on.
//!
//! The log outputs share one filter, so each span callback looks the span up once for all of
//! them, not once per output. Every layer has a filter: one without would want every span and
//! event of every crate, and all of them would be made.
//!
//! The two OpenTelemetry layers never see the exporter's own crates (hyper, h2, tonic, tower,
//! reqwest, opentelemetry): exporting those events would export the export, forever.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkError;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use super::counting::ExportCounters;
use super::exporter_crates::exporter_crates_off;
use super::guard::TelemetryGuard;
use super::logs::record_export;
use super::meters::meter_provider;
use super::report::spawn_loss_reporter;
use super::resource::{resource, scope};
use super::traces::tracer_provider;
use super::{LogFormat, TelemetryConfig};
use crate::directives::plain_targets;
use crate::logging::{
    EventMark, HumanLayer, JsonLayer, LogOutputs, OutputError, install_panic_hook,
};
use crate::propagation::install_propagators;

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
    /// The SDK's OTLP metric exporter could not be built (a malformed endpoint, say).
    #[cfg(feature = "otlp")]
    #[error("cannot build the OTLP {signal} exporter")]
    Exporter {
        /// `metrics`.
        signal: &'static str,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// An OTLP endpoint or header cannot be used (not `http://host:port`, say).
    #[cfg(feature = "otlp")]
    #[error("cannot export {signal}: {reason}")]
    Endpoint {
        /// `traces` or `logs`.
        signal: &'static str,
        /// Why.
        reason: String,
    },
    /// The export thread could not be started.
    #[cfg(feature = "otlp")]
    #[error("cannot start the export thread")]
    ExportThread(#[source] std::io::Error),
    /// An endpoint is configured but this build has no OTLP exporter (feature `otlp` is off).
    #[error("an OTLP endpoint is set, but ordertrail was built without the `otlp` feature")]
    NoExporter,
    /// A global subscriber is already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
    /// Flushing a signal at shutdown failed or ran out of time; its pending data is lost.
    #[error("flushing {signal} at shutdown failed")]
    Shutdown {
        /// `traces`, `logs` or `metrics`.
        signal: &'static str,
        /// Why.
        #[source]
        source: OTelSdkError,
    },
    /// The final flush could not deliver some items (the collector refused or did not answer):
    /// they are lost, and counted as failed.
    #[error("{signal}: {items} item(s) could not be delivered at shutdown")]
    Lost {
        /// `traces` or `logs`.
        signal: &'static str,
        /// Spans or log records lost.
        items: u64,
    },
    /// The config carries a redaction policy, but another one was installed before.
    #[error(transparent)]
    Redact(#[from] crate::redact::AlreadyInstalled),
    /// The flushing thread panicked or was cancelled.
    #[error("the flush did not finish: {0}")]
    Join(String),
}

/// The layers [`layers`] returns: one value that is a `Layer` of any registry-like subscriber.
pub type Layers<S> = Vec<Box<dyn Layer<S> + Send + Sync + 'static>>;

/// Installs the global subscriber described by `config`, the W3C propagators and the panic
/// hook. Call it once, early in `main`, inside the tokio runtime (the gRPC exporter spawns
/// its connection on it), and hold the guard until the end.
///
/// ```no_run
/// use ordertrail::telemetry::{self, TelemetryConfig};
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = telemetry::init(&TelemetryConfig::new("hello", env!("CARGO_PKG_VERSION")))?;
/// tracing::info!("serving");
/// for err in telemetry.shutdown().await {
///     eprintln!("{err}");
/// }
/// # Ok(()) }
/// ```
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let (layers, guard) = layers(config)?;
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)?;
    install_panic_hook();
    Ok(guard)
}

/// The log, span and log-record layers of `config`, each with its own filter, and the guard
/// that flushes them — for teams that build their own subscriber. Also installs the W3C
/// propagators (unless the SDK is disabled); the panic hook is yours to install
/// ([`install_panic_hook`]).
///
/// Hold the guard for as long as the service runs: dropping it flushes and shuts the
/// exporters down, so `let (layers, _) = layers(&config)?` exports nothing after that line.
///
/// Give each layer of yours a filter of its own, as these have. A layer without one wants
/// every span and event of every crate, so all of them are made, down to hyper's `TRACE`
/// detail, even those every other layer then turns away.
///
/// ```no_run
/// use ordertrail::telemetry::{self, TelemetryConfig};
/// use tracing_subscriber::filter::LevelFilter;
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
/// use tracing_subscriber::Layer;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (layers, guard) = telemetry::layers(&TelemetryConfig::new("hello", "1.0.0"))?;
/// let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr); // one of yours
/// tracing_subscriber::registry()
///     .with(layers)
///     .with(stderr.with_filter(LevelFilter::WARN))
///     .init();
/// # drop(guard); Ok(()) }
/// ```
pub fn layers<S>(config: &TelemetryConfig) -> Result<(Layers<S>, TelemetryGuard), TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    if let Some(policy) = &config.redact {
        crate::redact::install(Arc::clone(policy))?;
    }
    let outputs = LogOutputs::open(config.log_file.as_deref())?;
    // The log outputs (lines, then OTLP records) sit between the two marks, which let them
    // flatten each event once between them; all of them under the log filter.
    let mut logged: Layers<S> = vec![EventMark::Open.boxed()];
    logged.extend(line_layers(config, &outputs));
    let mut layers: Layers<S> = Vec::new();
    let (spans, logs) = (
        Arc::<ExportCounters>::default(),
        Arc::<ExportCounters>::default(),
    );
    let (mut tracer, mut records, mut meter) = (None, None, None);
    if !config.sdk_disabled {
        install_propagators();
        let resource = resource(config);
        let provider = tracer_provider(config, resource.clone(), &spans)?;
        let otel = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer_with_scope(scope()))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false);
        // Spans only: events reach the collector as OTLP log records, not as span events too.
        // The level hint keeps the pair's (a filter without one would hint every level).
        let is_span = filter_fn(|meta| meta.is_span()).with_max_level_hint(LevelFilter::TRACE);
        let spans_only = otel_filter(config)?.and(is_span);
        layers.push(otel.with_filter(spans_only).boxed());
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracer = Some(provider);
        meter = meter_provider(config, resource.clone())?;
        records = record_export(config, resource, &logs)?;
        #[cfg(feature = "otlp")]
        if let Some(export) = &records {
            let bridge = crate::logging::OtlpLogLayer::new(export.clone(), config.service.as_str());
            // It leaves out the exporter's own crates itself: a filter of its own would look
            // every span up once more on every callback.
            logged.push(bridge.boxed());
        }
    }
    logged.push(EventMark::Close.boxed());
    layers.insert(0, logged.with_filter(log_filter(config)?).boxed());
    if let Some(metrics) = &config.metrics {
        layers.push(metrics_layer(metrics, &outputs, &spans, &logs));
    }
    let recorder = super::flight::recorder_layer(config, &outputs, records.as_ref());
    let recorder = recorder.map(|(layer, handle)| {
        layers.push(layer);
        handle
    });
    let stop_reporter = Arc::new(AtomicBool::new(false));
    if config.traces_endpoint.is_some() || config.logs_endpoint.is_some() {
        spawn_loss_reporter(
            Arc::clone(&spans),
            Arc::clone(&logs),
            Arc::clone(&stop_reporter),
            config.loss_report_every,
        );
    }
    let guard = TelemetryGuard {
        tracer,
        records,
        meter,
        outputs: Some(outputs),
        stop_reporter,
        spans,
        logs,
        recorder,
    };
    Ok((layers, guard))
}

/// The layer recording HTTP spans into `metrics`, after the OpenTelemetry layer (so a span's
/// trace is active when it is entered), seeing HTTP spans only; the pipeline's counts attached.
fn metrics_layer<S>(
    metrics: &crate::metrics::Metrics,
    outputs: &LogOutputs,
    spans: &Arc<ExportCounters>,
    logs: &Arc<ExportCounters>,
) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let health = metrics.health();
    health.attach_export(Arc::clone(spans), Arc::clone(logs));
    let writers = std::iter::once(&outputs.stdout).chain(outputs.file.as_ref());
    health.attach_lines(writers.cloned().collect());
    let wants = filter_fn(crate::metrics::MetricsLayer::wants);
    metrics.layer().with_filter(wants).boxed()
}

/// The line outputs of `config`: JSON lines, or human lines on stdout and JSON lines in the
/// file. [`layers`] puts them under the log filter, between the event marks.
fn line_layers<S>(config: &TelemetryConfig, outputs: &LogOutputs) -> Layers<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let stdout = outputs.stdout.clone();
    match (config.log_format, outputs.file.clone()) {
        (LogFormat::Json, None) => vec![json(config, stdout).boxed()],
        (LogFormat::Json, Some(file)) => vec![json(config, stdout.and(file)).boxed()],
        (LogFormat::Pretty, None) => vec![HumanLayer::new(stdout).boxed()],
        (LogFormat::Pretty, Some(file)) => {
            vec![HumanLayer::new(stdout).boxed(), json(config, file).boxed()]
        }
    }
}

/// The JSON layer of `config` writing to `writer`.
fn json<W>(config: &TelemetryConfig, writer: W) -> JsonLayer<W>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    JsonLayer::new(config.service.as_str(), writer).line_fields(&config.line_fields)
}

/// A layer's filter, made from directives ([`parse_filter`]).
type DirectiveFilter<S> = Box<dyn Filter<S> + Send + Sync + 'static>;

/// The log filter: the configured directives, `info` when none.
fn log_filter<S>(config: &TelemetryConfig) -> Result<DirectiveFilter<S>, TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    parse_filter(directives(config))
}

/// The span layer's filter: the log filter minus the exporter's own crates (pitfall: the
/// exporter exporting itself).
fn otel_filter<S>(config: &TelemetryConfig) -> Result<DirectiveFilter<S>, TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    parse_filter(&format!("{},{}", directives(config), exporter_crates_off()))
}

pub(super) fn directives(config: &TelemetryConfig) -> &str {
    if config.log_filter.trim().is_empty() {
        "info"
    } else {
        config.log_filter.as_str()
    }
}

/// The filter of `directives`, as `RUST_LOG` writes them. Targets and levels alone
/// (`info,h2=off`, the common case) make a [`Targets`] filter: it decides once per callsite.
/// Span and field directives (`[request{route=/orders}]=debug`) need an [`EnvFilter`], which
/// also follows every span entered and left (a lock and a lookup each time) to apply them.
fn parse_filter<S>(directives: &str) -> Result<DirectiveFilter<S>, TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let invalid = |source| TelemetryError::Filter {
        directives: directives.to_owned(),
        source,
    };
    let env = EnvFilter::builder().parse(directives).map_err(invalid)?;
    Ok(match plain_targets(directives) {
        Some(targets) => Box::new(targets),
        None => Box::new(env),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use tracing::Event;
    use tracing_subscriber::Registry;
    use tracing_subscriber::layer::Context;

    use super::*;

    /// The target and level of every event it is given.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let meta = event.metadata();
            let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            seen.push(format!("{} {}", meta.target(), meta.level()));
        }
    }

    /// One event at each level of each of a few targets.
    fn every_target_and_level() {
        macro_rules! at_every_level {
            ($target:literal) => {
                tracing::trace!(target: $target, "e");
                tracing::debug!(target: $target, "e");
                tracing::info!(target: $target, "e");
                tracing::warn!(target: $target, "e");
                tracing::error!(target: $target, "e");
            };
        }
        at_every_level!("app");
        at_every_level!("app::db");
        at_every_level!("h2::proto");
        at_every_level!("other");
    }

    /// What reaches a layer filtered by `filter`.
    fn passed_by(filter: impl Filter<Registry> + Send + Sync + 'static) -> Vec<String> {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry().with(seen.clone().with_filter(filter));
        tracing::subscriber::with_default(subscriber, every_target_and_level);
        let passed = seen.0.lock().unwrap_or_else(PoisonError::into_inner);
        passed.clone()
    }

    #[test]
    fn plain_directives_filter_as_the_env_filter_does() {
        for directives in [
            "info",
            "warn,app=debug",
            "info,h2=off,app::db=trace",
            "off,app=info",
            "app=warn,app::db=debug",
        ] {
            let expected = passed_by(EnvFilter::new(directives));
            let filter = parse_filter::<Registry>(directives).expect("directives");
            assert_eq!(passed_by(filter), expected, "{directives}");
        }
    }

    #[test]
    fn span_directives_keep_the_env_filter_and_bad_ones_are_errors() {
        let directives = "info,[request]=debug";
        let expected = passed_by(EnvFilter::new(directives));
        let filter = parse_filter::<Registry>(directives).expect("directives");
        assert_eq!(passed_by(filter), expected);
        assert!(matches!(
            parse_filter::<Registry>("info,app=loud"),
            Err(TelemetryError::Filter { .. })
        ));
    }

    /// With a live receiver: the exporter's own crates reach no span and no log record, the
    /// application's do, through the filter nested in the log filter.
    #[cfg(feature = "otlp")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_exporters_own_crates_are_never_exported() {
        use crate::telemetry::wire::receiver::Receiver;
        use crate::telemetry::{BatchSettings, OtlpProtocol};

        let receiver = Receiver::start();
        let config = TelemetryConfig::new("filters", "1.0.0")
            .otlp_endpoint(&receiver.base, OtlpProtocol::HttpProtobuf)
            .batch(BatchSettings::default().delay(std::time::Duration::from_secs(60)));
        crate::propagation::tests::enable_every_callsite();
        let (layers, guard) = layers(&config).expect("layers");
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layers), || {
            tracing::info_span!(target: "hyper::proto", "from hyper").in_scope(|| {
                tracing::info!(target: "hyper::proto", "hyper event");
            });
            tracing::info_span!(target: "app", "from the app").in_scope(|| {
                tracing::info!(target: "app", "app event");
            });
        });
        assert!(guard.shutdown().await.is_empty());
        assert_eq!(receiver.span_names(), ["from the app"]);
        let bodies: Vec<String> = receiver
            .records()
            .iter()
            .map(|r| format!("{:?}", r.body))
            .collect();
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        assert!(bodies[0].contains("app event"), "{bodies:?}");
    }
}

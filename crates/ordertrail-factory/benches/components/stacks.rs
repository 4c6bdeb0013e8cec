//! The stacks the driver installs, each through public API only, and how each is flushed.

use std::time::{Duration, Instant};

use opentelemetry::logs::LoggerProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{LogExporter, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use ordertrail::logging::JsonLayer;
use ordertrail::telemetry::{self, OtlpProtocol, TelemetryConfig, TelemetryGuard};
use tracing::Subscriber;

use crate::sdk_records::SdkRecords;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How long the exporters may take to deliver everything, under valgrind.
const DELIVERY: Duration = Duration::from_secs(90);

/// Each exporter's longest wait for one export call.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// A stack of layers and exporters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stack {
    /// `ordertrail::telemetry::init`: JSON lines, spans and log records over OTLP/gRPC.
    Ordertrail,
    /// The same without a logs endpoint: no OTLP log layer, spans still exported.
    OrdertrailNoLogExport,
    /// ordertrail's `JsonLayer` alone on a registry: no OpenTelemetry.
    Json,
    /// tracing-subscriber's `fmt().json()` (current span and span list) alone on a registry.
    StockJson,
    /// Stock parts: `fmt().json()` as above, tracing-opentelemetry (its defaults: events
    /// as span events, code and thread attributes), the SDK's batch processor and
    /// opentelemetry-otlp's tonic span exporter (the overhead bench's usual stack).
    Usual,
    /// The SDK's own span export of the spans ordertrail exports: tracing-opentelemetry
    /// set as ordertrail sets it (spans only, no code or thread attributes), the batch
    /// processor, opentelemetry-otlp's tonic span exporter.
    SdkSpans,
    /// The SDK's own log export of the records ordertrail exports: ordertrail's
    /// `OtlpLogLayer` over an SDK logger with opentelemetry-otlp's tonic log exporter, spans
    /// made (for their trace ids) but not exported.
    SdkLogs,
}

impl Stack {
    pub(crate) const ALL: [Self; 7] = [
        Self::Ordertrail,
        Self::OrdertrailNoLogExport,
        Self::Json,
        Self::StockJson,
        Self::Usual,
        Self::SdkSpans,
        Self::SdkLogs,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Ordertrail => "ordertrail",
            Self::OrdertrailNoLogExport => "ordertrail-no-log-export",
            Self::Json => "json",
            Self::StockJson => "stock-json",
            Self::Usual => "usual",
            Self::SdkSpans => "sdk-spans",
            Self::SdkLogs => "sdk-logs",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Spans and log records a run of `items` items exports.
    pub(crate) fn exports(self, items: u64) -> (u64, u64) {
        match self {
            Self::Ordertrail => (items, items),
            Self::OrdertrailNoLogExport | Self::Usual | Self::SdkSpans => (items, 0),
            Self::SdkLogs => (0, items),
            Self::Json | Self::StockJson => (0, 0),
        }
    }
}

/// An installed stack: what flushes it.
pub(crate) enum Installed {
    /// ordertrail's guard: flushed once its counters say everything was exported.
    Ordertrail(TelemetryGuard),
    /// A JSON layer's non-blocking writer alone.
    Lines(WorkerGuard),
    /// The SDK's span pipeline, and the stock JSON writer when there is one.
    Traces(SdkTracerProvider, Option<WorkerGuard>),
    /// The SDK's log pipeline, and the tracer that gave its records their trace ids.
    Logs(SdkLoggerProvider, SdkTracerProvider),
}

/// Installs `stack` as the global subscriber, exporting to `endpoint` as `service`.
pub(crate) fn install(stack: Stack, endpoint: &str, service: &str) -> Installed {
    match stack {
        Stack::Ordertrail => Installed::Ordertrail(ordertrail(endpoint, service, true)),
        Stack::OrdertrailNoLogExport => Installed::Ordertrail(ordertrail(endpoint, service, false)),
        Stack::Json => json_alone(service),
        Stack::StockJson => stock_json_alone(),
        Stack::Usual => usual(endpoint, service),
        Stack::SdkSpans => sdk_spans(endpoint, service),
        Stack::SdkLogs => sdk_logs(endpoint, service),
    }
}

impl Installed {
    /// Flushes and shuts down; panics unless `spans` spans and `records` log records were
    /// exported (where the stack counts them) and the shutdown succeeded.
    pub(crate) fn finish(self, spans: u64, records: u64) {
        match self {
            Self::Ordertrail(guard) => flush_ordertrail(guard, spans, records),
            Self::Lines(lines) => drop(lines),
            Self::Traces(provider, lines) => {
                provider.shutdown().expect("flush the SDK's spans");
                drop(lines);
            }
            Self::Logs(logs, traces) => {
                logs.shutdown().expect("flush the SDK's log records");
                traces.shutdown().expect("stop the SDK's tracer");
            }
        }
    }
}

/// ordertrail's whole set-up, its log records exported or not.
fn ordertrail(endpoint: &str, service: &str, log_records: bool) -> TelemetryGuard {
    let mut config = TelemetryConfig::new(service, env!("CARGO_PKG_VERSION"))
        .otlp_endpoint(endpoint, OtlpProtocol::Grpc);
    if !log_records {
        config.logs_endpoint = None;
    }
    telemetry::init(&config).expect("ordertrail telemetry")
}

/// Waits until `spans` spans and `records` records are exported (the batch processors send
/// at 512 or every second), then shuts down; panics on any loss.
fn flush_ordertrail(guard: TelemetryGuard, spans: u64, records: u64) {
    let deadline = Instant::now() + DELIVERY;
    let delivered = |g: &TelemetryGuard| {
        g.span_counters().snapshot().exported >= spans
            && g.log_counters().snapshot().exported >= records
    };
    while !delivered(&guard) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (exported_spans, exported_records) = (
        guard.span_counters().snapshot(),
        guard.log_counters().snapshot(),
    );
    assert!(
        delivered(&guard),
        "not everything was exported within {DELIVERY:?}: spans {exported_spans:?}, \
         log records {exported_records:?}"
    );
    let errors = guard.shutdown_blocking(Duration::from_secs(10));
    assert!(errors.is_empty(), "shutdown: {errors:?}");
}

/// ordertrail's JSON layer alone, writing through a non-blocking stdout writer.
fn json_alone(service: &str) -> Installed {
    let (writer, lines) = tracing_appender::non_blocking(std::io::stdout());
    let layer = JsonLayer::new(service, writer).with_filter(EnvFilter::new("info"));
    tracing_subscriber::registry().with(layer).init();
    Installed::Lines(lines)
}

/// The stock JSON formatter alone, as the usual stack configures it, on the same writer.
fn stock_json_alone() -> Installed {
    let (writer, lines) = tracing_appender::non_blocking(std::io::stdout());
    tracing_subscriber::registry()
        .with(stock_json(writer))
        .init();
    Installed::Lines(lines)
}

/// tracing-subscriber's JSON formatter with the current span and the span list.
fn stock_json<S>(writer: NonBlocking) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
        .with_filter(EnvFilter::new("info"))
}

/// The usual stack of the overhead benchmark, with a service name on its resource.
fn usual(endpoint: &str, service: &str) -> Installed {
    let (writer, lines) = tracing_appender::non_blocking(std::io::stdout());
    let provider = sdk_tracer(endpoint, service);
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("usual"));
    tracing_subscriber::registry()
        .with(stock_json(writer))
        .with(otel.with_filter(EnvFilter::new(
            "info,h2=off,hyper=off,tonic=off,tower=off,opentelemetry=off",
        )))
        .init();
    Installed::Traces(provider, Some(lines))
}

/// The SDK exporting the spans ordertrail exports, as ordertrail's span layer makes them.
fn sdk_spans(endpoint: &str, service: &str) -> Installed {
    let provider = sdk_tracer(endpoint, service);
    tracing_subscriber::registry()
        .with(spans_only(&provider))
        .init();
    Installed::Traces(provider, None)
}

/// The SDK exporting the log records ordertrail's OTLP log layer writes, built as SDK log
/// records ([`SdkRecords`]).
fn sdk_logs(endpoint: &str, service: &str) -> Installed {
    let exporter = LogExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .expect("log exporter");
    let logs = SdkLoggerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service))
        .build();
    // Spans with trace ids for the records to carry, exported nowhere.
    let traces = SdkTracerProvider::builder().build();
    let records = SdkRecords {
        logger: logs.logger("components"),
        service: service.into(),
    };
    tracing_subscriber::registry()
        .with(spans_only(&traces))
        .with(records.with_filter(self_export_off()))
        .init();
    Installed::Logs(logs, traces)
}

/// tracing-opentelemetry as ordertrail sets it: spans only, no code or thread attributes.
fn spans_only<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("components"))
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(self_export_off().and(filter_fn(|meta| meta.is_span())))
}

fn self_export_off() -> EnvFilter {
    EnvFilter::new("info,h2=off,hyper=off,tonic=off,tower=off,opentelemetry=off")
}

/// A batch span pipeline to `endpoint` over opentelemetry-otlp's tonic exporter.
fn sdk_tracer(endpoint: &str, service: &str) -> SdkTracerProvider {
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .expect("span exporter");
    SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service))
        .build()
}

fn resource(service: &str) -> Resource {
    Resource::builder()
        .with_service_name(service.to_owned())
        .build()
}

//! [`TelemetryGuard`]: owns the providers and log writers; flushes them in order when it is
//! shut down or dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::TelemetryError;
use super::counting::{ExportCounters, ExportSnapshot};
use crate::logging::LogOutputs;

/// How long [`Drop`] waits for the flush.
pub const DROP_BUDGET: Duration = Duration::from_secs(5);

/// Owns the providers, the log writers and the loss reporters. Hold it for the life of the
/// process; when it goes away, pending spans, log records and log lines are flushed.
///
/// Prefer `guard.shutdown().await` at the end of `main`: it flushes off the async runtime and
/// returns every error. Dropping the guard flushes too (within [`DROP_BUDGET`]) and prints
/// errors on stderr. Spans and log records are sent from an export thread of their own, so a
/// drop delivers them from any runtime; metrics over gRPC use the SDK's exporter, whose
/// connection lives on your runtime: on a current-thread runtime use `shutdown().await`.
#[must_use = "dropping the guard flushes and stops telemetry: hold it until the process ends"]
pub struct TelemetryGuard {
    pub(super) tracer: Option<SdkTracerProvider>,
    pub(super) records: Option<super::logs::RecordExport>,
    pub(super) meter: Option<SdkMeterProvider>,
    pub(super) outputs: Option<LogOutputs>,
    pub(super) stop_reporter: Arc<AtomicBool>,
    pub(super) spans: Arc<ExportCounters>,
    pub(super) logs: Arc<ExportCounters>,
    pub(super) recorder: Option<crate::recorder::RecorderHandle>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("traces", &self.tracer.is_some())
            .field("logs", &self.records.is_some())
            .field("spans", &self.spans.snapshot())
            .field("log_records", &self.logs.snapshot())
            .finish()
    }
}

impl TelemetryGuard {
    /// Counters of span export: exported, failed, dropped.
    pub fn span_counters(&self) -> &ExportCounters {
        &self.spans
    }

    /// The flight recorder's counters and budget, when it is on.
    pub fn recorder(&self) -> Option<&crate::recorder::RecorderHandle> {
        self.recorder.as_ref()
    }

    /// Counters of log record export.
    pub fn log_counters(&self) -> &ExportCounters {
        &self.logs
    }

    /// Flushes within [`DROP_BUDGET`] on a blocking thread, so the async runtime keeps
    /// serving the exporter meanwhile; see [`shutdown_blocking`](Self::shutdown_blocking).
    #[must_use = "the errors say which signal lost data at shutdown"]
    pub async fn shutdown(self) -> Vec<TelemetryError> {
        self.shutdown_within(DROP_BUDGET).await
    }

    /// [`shutdown`](Self::shutdown) with another budget.
    #[must_use = "the errors say which signal lost data at shutdown"]
    pub async fn shutdown_within(self, budget: Duration) -> Vec<TelemetryError> {
        let flushing = tokio::task::spawn_blocking(move || self.shutdown_blocking(budget));
        flushing
            .await
            .unwrap_or_else(|err| vec![TelemetryError::Join(err.to_string())])
    }

    /// Flushes within `budget`, in order: spans, then log records (which may include lines
    /// about the span flush), then metrics, then log lines. Every failure is returned, items
    /// the last flush could not deliver included; none stops the rest.
    ///
    /// Blocking: inside a current-thread runtime call [`shutdown`](Self::shutdown) instead,
    /// or the metric exporter's gRPC connection cannot make progress while this waits.
    #[must_use = "the errors say which signal lost data at shutdown"]
    pub fn shutdown_blocking(mut self, budget: Duration) -> Vec<TelemetryError> {
        self.flush(budget)
    }

    fn flush(&mut self, budget: Duration) -> Vec<TelemetryError> {
        let start = Instant::now();
        let left = || budget.saturating_sub(start.elapsed());
        let mut errors = Vec::new();
        self.stop_reporter.store(true, Ordering::Relaxed);
        let spans_before = self.spans.snapshot();
        if let Some(Err(source)) = self.tracer.take().map(|t| t.shutdown_with_timeout(left())) {
            errors.push(TelemetryError::Shutdown {
                signal: "traces",
                source,
            });
        }
        errors.extend(lost("traces", spans_before, self.spans.snapshot()));
        let logs_before = self.logs.snapshot();
        if let Some(Err(source)) = self.records.take().map(|r| r.shutdown(left())) {
            errors.push(TelemetryError::Shutdown {
                signal: "logs",
                source,
            });
        }
        errors.extend(lost("logs", logs_before, self.logs.snapshot()));
        if let Some(Err(source)) = self.meter.take().map(|m| m.shutdown_with_timeout(left())) {
            errors.push(TelemetryError::Shutdown {
                signal: "metrics",
                source,
            });
        }
        if let Some(outputs) = self.outputs.take() {
            outputs.flush();
        }
        errors
    }
}

/// The items of `signal` that the final flush failed to deliver or had to drop: the SDK's
/// shutdown reports success even when its last export fails, the counters do not.
fn lost(
    signal: &'static str,
    before: ExportSnapshot,
    after: ExportSnapshot,
) -> Option<TelemetryError> {
    let items = (after.failed + after.dropped).saturating_sub(before.failed + before.dropped);
    (items > 0).then_some(TelemetryError::Lost { signal, items })
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if self.tracer.is_none() && self.records.is_none() && self.outputs.is_none() {
            return; // already shut down
        }
        for err in self.flush(DROP_BUDGET) {
            eprintln!("telemetry: {err}");
        }
    }
}

#[cfg(all(test, feature = "otlp"))]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::propagation::tests::enable_every_callsite;
    use crate::telemetry::wire::receiver::Receiver;
    use crate::telemetry::{BatchSettings, OtlpProtocol, TelemetryConfig, layers};

    /// Export over HTTP to `endpoint`, with batches that would wait a minute on their own.
    fn config(endpoint: &str) -> TelemetryConfig {
        TelemetryConfig::new("guard-test", "1.0.0")
            .otlp_endpoint(endpoint, OtlpProtocol::HttpProtobuf)
            .batch(BatchSettings::default().delay(Duration::from_secs(60)))
    }

    /// One span holding one event, through the layers of `config`; returns their guard.
    fn one_span_and_event(config: &TelemetryConfig) -> TelemetryGuard {
        enable_every_callsite();
        let (layers, guard) = layers(config).expect("layers");
        let subscriber = tracing_subscriber::registry().with(layers);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("guarded work").in_scope(|| tracing::info!("inside the work"));
        });
        guard
    }

    fn bodies(receiver: &Receiver) -> Vec<String> {
        let records = receiver.records().into_iter();
        records.map(|r| format!("{:?}", r.body)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_guard_exports_what_the_batches_still_hold() {
        let receiver = Receiver::start();
        let guard = one_span_and_event(&config(&receiver.base));
        assert!(receiver.span_names().is_empty(), "nothing before the drop");
        tokio::task::spawn_blocking(move || drop(guard))
            .await
            .unwrap();
        assert_eq!(receiver.span_names(), ["guarded work"]);
        let bodies = bodies(&receiver);
        assert!(
            bodies.iter().any(|b| b.contains("inside the work")),
            "{bodies:?}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_drop_on_a_current_thread_runtime_still_delivers_spans_and_records() {
        let receiver = Receiver::start();
        let guard = one_span_and_event(&config(&receiver.base));
        drop(guard); // blocks this runtime's only thread while the flush runs
        assert_eq!(receiver.span_names(), ["guarded work"]);
        assert_eq!(receiver.records().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_flushes_and_reports_no_error_when_everything_arrived() {
        let receiver = Receiver::start();
        let guard = one_span_and_event(&config(&receiver.base));
        let errors = guard.shutdown().await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(receiver.span_names(), ["guarded work"]);
        assert_eq!(receiver.records().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_could_not_be_delivered_at_shutdown_is_counted_and_returned() {
        // A port nobody listens on: the final flush is refused.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let guard = one_span_and_event(&config(&format!("http://{addr}")));
        let (spans, logs) = (Arc::clone(&guard.spans), Arc::clone(&guard.logs));
        let errors = guard.shutdown().await;
        let lost = (spans.snapshot(), logs.snapshot());
        assert_eq!((lost.0.exported, lost.0.failed), (0, 1), "{lost:?}");
        assert_eq!((lost.1.exported, lost.1.failed), (0, 1), "{lost:?}");
        let said: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "traces: 1 item(s) could not be delivered at shutdown",
                "logs: 1 item(s) could not be delivered at shutdown"
            ]
        );
    }
}

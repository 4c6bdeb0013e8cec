//! [`TelemetryGuard`]: owns the providers and log writers; flushes them in order when it is
//! shut down or dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::TelemetryError;
use super::counting::ExportCounters;
use crate::logging::LogOutputs;

/// How long [`Drop`] waits for the flush.
pub const DROP_BUDGET: Duration = Duration::from_secs(5);

/// Owns the providers, the log writers and the loss reporters. Hold it for the life of the
/// process; when it goes away, pending spans, log records and log lines are flushed.
///
/// Prefer `guard.shutdown().await` at the end of `main`: it flushes off the async runtime and
/// returns every error. Dropping the guard flushes too (within [`DROP_BUDGET`]) and prints
/// errors on stderr; on a current-thread runtime a drop cannot let the gRPC exporter make
/// progress, so use `shutdown().await` there.
#[must_use = "dropping the guard flushes and stops telemetry: hold it until the process ends"]
pub struct TelemetryGuard {
    pub(super) tracer: Option<SdkTracerProvider>,
    pub(super) logger: Option<SdkLoggerProvider>,
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
            .field("logs", &self.logger.is_some())
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
    /// about the span flush), then metrics, then log lines. Every failure is returned, none stops the rest.
    ///
    /// Blocking: inside a current-thread runtime call [`shutdown`](Self::shutdown) instead,
    /// or the exporter's connection cannot make progress while this waits.
    #[must_use = "the errors say which signal lost data at shutdown"]
    pub fn shutdown_blocking(mut self, budget: Duration) -> Vec<TelemetryError> {
        self.flush(budget)
    }

    fn flush(&mut self, budget: Duration) -> Vec<TelemetryError> {
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

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if self.tracer.is_none() && self.logger.is_none() && self.outputs.is_none() {
            return; // already shut down
        }
        for err in self.flush(DROP_BUDGET) {
            eprintln!("telemetry: {err}");
        }
    }
}

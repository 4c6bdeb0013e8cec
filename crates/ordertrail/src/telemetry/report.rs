//! A warning line, every report period (default
//! [`REPORT_EVERY`](crate::logging::REPORT_EVERY)) while export is
//! losing data, with how many spans and log records were dropped or failed.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::counting::{ExportCounters, ExportSnapshot};
use crate::logging::wait_period;

/// Starts the reporter thread, looking every `period`; it ends when `stop` is set.
pub(super) fn spawn_loss_reporter(
    spans: Arc<ExportCounters>,
    logs: Arc<ExportCounters>,
    stop: Arc<AtomicBool>,
    period: Duration,
) {
    let spawned = std::thread::Builder::new()
        .name("ordertrail-export-report".into())
        .spawn(move || {
            let mut last = (ExportSnapshot::default(), ExportSnapshot::default());
            while wait_period(&stop, period) {
                let now = (spans.snapshot(), logs.snapshot());
                if lost(&now.0) > lost(&last.0) || lost(&now.1) > lost(&last.1) {
                    warn_losses(&now.0, &now.1);
                }
                last = now;
            }
        });
    if let Err(err) = spawned {
        eprintln!("ordertrail: cannot start the export reporter: {err}");
    }
}

fn lost(s: &ExportSnapshot) -> u64 {
    s.failed + s.dropped
}

fn warn_losses(spans: &ExportSnapshot, logs: &ExportSnapshot) {
    tracing::warn!(
        target: "ordertrail::telemetry",
        spans_failed = spans.failed,
        spans_dropped = spans.dropped,
        spans_exported = spans.exported,
        logs_failed = logs.failed,
        logs_dropped = logs.dropped,
        logs_exported = logs.exported,
        "telemetry export is losing data (collector down or slow); requests are not affected"
    );
}

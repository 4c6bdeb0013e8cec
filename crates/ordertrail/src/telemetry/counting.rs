//! Bounded, counted export: what is dropped is known, so it can be reported.
//!
//! The SDK's batch processors drop items when their queue is full, and lose a batch when its
//! export fails, but keep the counts private. The library's own batches (`wire::Batch`, for
//! spans and log records) count instead:
//! - an item is admitted only while fewer than `capacity` are pending (queued or being
//!   exported), and the ones turned away are counted as `dropped` ([`ExportCounters::admit`]);
//! - each finished export counts its items as `exported` or `failed`, and releases them from
//!   `pending` ([`gated`]).
//!
//! [`gated`] also holds the [`ExportGate`]: after a failed export it drops the next batches
//! unsent for a back-off period, counted as `failed`, so a dead collector costs no encoding and
//! no retries.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::gate::ExportGate;

/// Counters of one signal's export.
#[derive(Debug, Default)]
pub struct ExportCounters {
    pending: AtomicUsize,
    exported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// A point-in-time copy of [`ExportCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSnapshot {
    /// Items delivered to the collector.
    pub exported: u64,
    /// Items lost because their export failed (collector down, time-out, refused).
    pub failed: u64,
    /// Items turned away because the queue was full.
    pub dropped: u64,
}

impl ExportCounters {
    /// The current counts.
    pub fn snapshot(&self) -> ExportSnapshot {
        ExportSnapshot {
            exported: self.exported.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// Takes a place in the queue, or counts a drop.
    pub(super) fn admit(&self, capacity: usize) -> bool {
        if self.pending.fetch_add(1, Ordering::AcqRel) < capacity {
            return true;
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
        self.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }

    fn finished(&self, items: usize, result: &OTelSdkResult) {
        self.pending.fetch_sub(items, Ordering::AcqRel);
        let counter = if result.is_ok() {
            &self.exported
        } else {
            &self.failed
        };
        counter.fetch_add(items as u64, Ordering::Relaxed);
    }
}

/// Sends a batch of `items` through `send` when `gate` admits it; counts the outcome.
pub(super) async fn gated<F>(
    gate: &ExportGate,
    counters: &ExportCounters,
    items: usize,
    send: F,
) -> OTelSdkResult
where
    F: Future<Output = OTelSdkResult>,
{
    let result = if gate.admits(Instant::now()) {
        let result = send.await;
        gate.record(result.is_ok(), Instant::now());
        result
    } else {
        Err(OTelSdkError::InternalFailure(
            "dropped unsent: the last export failed, the collector is in back-off".into(),
        ))
    };
    counters.finished(items, &result);
    result
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn admits_up_to_capacity_then_counts_drops() {
        let counters = ExportCounters::default();
        assert!(counters.admit(2) && counters.admit(2));
        assert!(!counters.admit(2));
        counters.finished(1, &Ok(()));
        assert!(counters.admit(2));
        let failed: OTelSdkResult = Err(opentelemetry_sdk::error::OTelSdkError::Timeout(
            Duration::from_secs(1),
        ));
        counters.finished(2, &failed);
        let snap = counters.snapshot();
        assert_eq!((snap.exported, snap.failed, snap.dropped), (1, 2, 1));
    }

    #[tokio::test]
    async fn after_a_failure_batches_are_counted_as_failed_without_being_sent() {
        let (gate, counters) = (ExportGate::default(), ExportCounters::default());
        let sent = AtomicUsize::new(0);
        let refused = || async {
            sent.fetch_add(1, Ordering::Relaxed);
            Err(OTelSdkError::InternalFailure("connection refused".into()))
        };
        for _ in 0..5 {
            assert!((0..2).all(|_| counters.admit(100)));
            assert!(gated(&gate, &counters, 2, refused()).await.is_err());
        }
        assert_eq!(sent.load(Ordering::Relaxed), 1, "one probe, then back-off");
        assert_eq!(counters.snapshot().failed, 10, "every item counted");
    }
}

//! Bounded, counted export: what is dropped is known, so it can be reported.
//!
//! The SDK's batch span processor drops spans when its queue is full, and loses a batch when
//! its export fails, but keeps the counts private. Two thin wrappers make them visible:
//! - the *processor* wrapper admits an item only while fewer than `capacity` are pending (queued
//!   or being exported), and counts the ones it turns away as `dropped`;
//! - the *exporter* wrapper counts each finished export as `exported` or `failed`, and releases
//!   its items from `pending`.
//!
//! The inner queue is as large as `capacity`, so it never overflows on its own: every lost item
//! is counted here.
//!
//! The exporter wrapper also holds the [`ExportGate`]: after a failed export it drops the
//! next batches unsent for a back-off period, counted as `failed`, so a dead collector costs
//! no encoding and no retries.
//!
//! Log records take the library's own batch (`wire::RecordExport`), which uses the same
//! counters ([`ExportCounters::admit`]) and the same gate ([`gated`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

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

/// Admits spans into the inner processor while there is room.
#[derive(Debug)]
pub(super) struct BoundedSpans<P> {
    inner: P,
    counters: Arc<ExportCounters>,
    capacity: usize,
}

impl<P> BoundedSpans<P> {
    pub(super) fn new(inner: P, counters: Arc<ExportCounters>, capacity: usize) -> Self {
        Self {
            inner,
            counters,
            capacity,
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for BoundedSpans<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        // The batch processor ignores unsampled spans; they take no place in the queue.
        if !span.span_context.is_sampled() || self.counters.admit(self.capacity) {
            self.inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
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

/// Counts what the inner span exporter delivers or loses, behind the export gate.
#[derive(Debug)]
pub(super) struct CountedSpans<E> {
    inner: E,
    counters: Arc<ExportCounters>,
    gate: ExportGate,
}

impl<E> CountedSpans<E> {
    pub(super) fn new(inner: E, counters: Arc<ExportCounters>) -> Self {
        Self {
            inner,
            counters,
            gate: ExportGate::default(),
        }
    }
}

impl<E: SpanExporter> SpanExporter for CountedSpans<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let items = batch.len();
        gated(&self.gate, &self.counters, items, self.inner.export(batch)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Admits log records into the inner processor while there is room.
#[cfg(test)]
mod tests {
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

    /// An exporter whose collector refuses everything, counting the batches it was given.
    #[derive(Debug, Default)]
    struct Refusing(std::sync::atomic::AtomicUsize);

    impl SpanExporter for Refusing {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.fetch_add(1, Ordering::Relaxed);
            Err(OTelSdkError::InternalFailure("connection refused".into()))
        }
    }

    #[tokio::test]
    async fn after_a_failure_batches_are_counted_as_failed_without_reaching_the_exporter() {
        let counters = Arc::new(ExportCounters::default());
        let exporter = CountedSpans::new(Refusing::default(), Arc::clone(&counters));
        for _ in 0..5 {
            assert!(exporter.export(Vec::new()).await.is_err());
        }
        assert_eq!(
            exporter.inner.0.load(Ordering::Relaxed),
            1,
            "one probe, then back-off"
        );
        assert_eq!(counters.snapshot().failed, 0, "empty batches lose no items");
    }
}

//! Bounded, counted export: what is dropped is known, so it can be reported.
//!
//! The SDK's batch processors drop spans and records when their queue is full, and lose a batch
//! when its export fails, but keep the counts private. Two thin wrappers make them visible:
//! - the *processor* wrapper admits an item only while fewer than `capacity` are pending (queued
//!   or being exported), and counts the ones it turns away as `dropped`;
//! - the *exporter* wrapper counts each finished export as `exported` or `failed`, and releases
//!   its items from `pending`.
//!
//! The inner queue is as large as `capacity`, so it never overflows on its own: every lost item
//! is counted here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

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
    fn admit(&self, capacity: usize) -> bool {
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

/// Counts what the inner span exporter delivers or loses.
#[derive(Debug)]
pub(super) struct CountedSpans<E> {
    inner: E,
    counters: Arc<ExportCounters>,
}

impl<E> CountedSpans<E> {
    pub(super) fn new(inner: E, counters: Arc<ExportCounters>) -> Self {
        Self { inner, counters }
    }
}

impl<E: SpanExporter> SpanExporter for CountedSpans<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let items = batch.len();
        let result = self.inner.export(batch).await;
        self.counters.finished(items, &result);
        result
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
#[derive(Debug)]
pub(super) struct BoundedLogs<P> {
    inner: P,
    counters: Arc<ExportCounters>,
    capacity: usize,
}

impl<P> BoundedLogs<P> {
    pub(super) fn new(inner: P, counters: Arc<ExportCounters>, capacity: usize) -> Self {
        Self {
            inner,
            counters,
            capacity,
        }
    }
}

impl<P: LogProcessor> LogProcessor for BoundedLogs<P> {
    fn emit(&self, data: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if self.counters.admit(self.capacity) {
            self.inner.emit(data, scope);
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

/// Counts what the inner log exporter delivers or loses.
#[derive(Debug)]
pub(super) struct CountedLogs<E> {
    inner: E,
    counters: Arc<ExportCounters>,
}

impl<E> CountedLogs<E> {
    pub(super) fn new(inner: E, counters: Arc<ExportCounters>) -> Self {
        Self { inner, counters }
    }
}

impl<E: LogExporter> LogExporter for CountedLogs<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let items = batch.iter().count();
        let result = self.inner.export(batch).await;
        self.counters.finished(items, &result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

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
}

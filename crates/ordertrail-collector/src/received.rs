//! [`Received`]: what the collector has received, shared between the server and its readers,
//! and [`wait_for`](Received::wait_for), which lets a test wait for telemetry that is still on
//! its way.
//!
//! Exporters batch: a span ended now reaches the collector after the batch processor's next
//! flush, on another thread. A test therefore never sleeps and looks; it states what it waits
//! for and how long it will wait:
//!
//! ```no_run
//! # async fn example(received: ordertrail_collector::Received) {
//! use std::time::Duration;
//!
//! let arrived = received
//!     .wait_for(|r| r.spans().iter().any(|s| s.span.name == "GET /orders"), Duration::from_secs(10))
//!     .await;
//! assert!(arrived, "no span named GET /orders within 10 s");
//! # }
//! ```
//!
//! The predicate runs once at once, then again after every export request that arrives (written
//! or refused because it could not be written), so the wait ends as soon as it can, and never later than the timeout.
//!
//! # Memory
//! Requests are kept only when the store was made with `keep = true` (tests). Without it
//! (a long-running `ordertrail collect`) only the [`Counts`] grow, and the accessors return
//! empty lists.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::sync::watch;

use super::record::{self, ReceivedLog, ReceivedSpan};

/// Totals since the collector started. Counted whether or not requests are kept in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Trace export requests received.
    pub trace_requests: u64,
    /// Spans in those requests.
    pub spans: u64,
    /// Log export requests received.
    pub log_requests: u64,
    /// Log records in those requests.
    pub log_records: u64,
    /// Metric export requests received.
    pub metric_requests: u64,
    /// Metric data points in those requests.
    pub metric_points: u64,
    /// Export requests (traces, logs, metrics) that could not be written to the output files, for
    /// example because the disk was full. They were refused as retryable and are not counted
    /// above.
    pub write_failures: u64,
}

/// A cheap, cloneable handle on everything the collector received. All clones see the same
/// data.
#[derive(Clone, Debug)]
pub struct Received {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    keep: bool,
    store: Mutex<Store>,
    /// Bumped after every export request; `wait_for` subscribes to it.
    changes: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Store {
    traces: Vec<ExportTraceServiceRequest>,
    logs: Vec<ExportLogsServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    counts: Counts,
}

impl Received {
    /// An empty store. With `keep` false, requests are counted and then dropped.
    pub fn new(keep: bool) -> Self {
        let shared = Shared {
            keep,
            store: Mutex::default(),
            changes: watch::Sender::new(0),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Whether requests are kept in memory.
    pub fn keeps_requests(&self) -> bool {
        self.shared.keep
    }

    /// Every trace export request received, in arrival order.
    pub fn trace_requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.store().traces.clone()
    }

    /// Every log export request received, in arrival order.
    pub fn log_requests(&self) -> Vec<ExportLogsServiceRequest> {
        self.store().logs.clone()
    }

    /// Every metric export request received, in arrival order.
    pub fn metric_requests(&self) -> Vec<ExportMetricsServiceRequest> {
        self.store().metrics.clone()
    }

    /// Every span received, each with its resource and scope, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut spans = Vec::new();
        for request in &self.store().traces {
            record::flatten_spans(request, &mut spans);
        }
        spans
    }

    /// Every log record received, each with its resource and scope, in arrival order.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        let mut logs = Vec::new();
        for request in &self.store().logs {
            record::flatten_logs(request, &mut logs);
        }
        logs
    }

    /// Totals since start.
    pub fn counts(&self) -> Counts {
        self.store().counts
    }

    /// Forgets the requests kept so far (the counts stay), so a test can look at what comes
    /// next only.
    pub fn clear(&self) {
        let mut store = self.store();
        store.traces.clear();
        store.logs.clear();
        store.metrics.clear();
    }

    /// Waits until `predicate` holds, re-checking after every export request that arrives.
    /// Returns whether it held before `timeout` ran out.
    pub async fn wait_for(
        &self,
        mut predicate: impl FnMut(&Received) -> bool,
        timeout: Duration,
    ) -> bool {
        // Subscribe before the first check, so a request landing in between still wakes us.
        let mut changes = self.shared.changes.subscribe();
        let wait = async {
            while !predicate(self) {
                // The sender lives in `self.shared`, so `changed` cannot fail while we hold it.
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Records one trace export request.
    pub(crate) fn push_traces(&self, request: ExportTraceServiceRequest) {
        let spans = record::span_count(&request) as u64;
        {
            let mut store = self.store();
            store.counts.trace_requests += 1;
            store.counts.spans += spans;
            if self.shared.keep {
                store.traces.push(request);
            }
        }
        self.notify();
    }

    /// Records one log export request.
    pub(crate) fn push_logs(&self, request: ExportLogsServiceRequest) {
        let records = record::log_count(&request) as u64;
        {
            let mut store = self.store();
            store.counts.log_requests += 1;
            store.counts.log_records += records;
            if self.shared.keep {
                store.logs.push(request);
            }
        }
        self.notify();
    }

    /// Records one metric export request.
    pub(crate) fn push_metrics(&self, request: ExportMetricsServiceRequest) {
        let points = record::metric_point_count(&request) as u64;
        {
            let mut store = self.store();
            store.counts.metric_requests += 1;
            store.counts.metric_points += points;
            if self.shared.keep {
                store.metrics.push(request);
            }
        }
        self.notify();
    }

    /// Records one export request that could not be written.
    pub(crate) fn count_write_failure(&self) {
        self.store().counts.write_failures += 1;
        self.notify();
    }

    fn notify(&self) {
        self.shared.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The store, even if a reader panicked while holding it: the data is append-only, so a
    /// poisoned lock still guards a consistent value.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.shared
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;

    fn request_with_span(name: &str) -> ExportTraceServiceRequest {
        let span = Span {
            name: name.to_owned(),
            ..Span::default()
        };
        let scope_spans = ScopeSpans {
            spans: vec![span],
            ..ScopeSpans::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![scope_spans],
                ..ResourceSpans::default()
            }],
        }
    }

    fn has_span(received: &Received, name: &str) -> bool {
        received.spans().iter().any(|s| s.span.name == name)
    }

    #[tokio::test]
    async fn wait_for_wakes_on_a_later_export() {
        let received = Received::new(true);
        let writer = received.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.push_traces(request_with_span("late"));
        });
        let found = received
            .wait_for(|r| has_span(r, "late"), Duration::from_secs(5))
            .await;
        assert!(found);
    }

    #[tokio::test]
    async fn wait_for_gives_up_at_the_timeout() {
        let received = Received::new(true);
        received.push_traces(request_with_span("other"));
        let found = received
            .wait_for(|r| has_span(r, "never"), Duration::from_millis(50))
            .await;
        assert!(!found);
    }

    #[test]
    fn without_keep_only_counts_grow() {
        let received = Received::new(false);
        received.push_traces(request_with_span("counted"));
        assert!(received.spans().is_empty());
        assert_eq!(received.counts().trace_requests, 1);
        assert_eq!(received.counts().spans, 1);
    }

    #[test]
    fn clear_forgets_requests_but_not_counts() {
        let received = Received::new(true);
        received.push_traces(request_with_span("first"));
        received.clear();
        assert!(received.spans().is_empty());
        assert_eq!(received.counts().spans, 1);
    }
}

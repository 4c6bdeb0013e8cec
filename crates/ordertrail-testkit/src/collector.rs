//! An in-test [`Collector`], waiting for what it received, finding spans in it, and walking
//! from a span to its parents.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use ordertrail_collector::{Collector, CollectorConfig, Received, ReceivedSpan};

/// How long telemetry may take to reach the collector.
pub const EXPORT_WAIT: Duration = Duration::from_secs(20);

/// A collector on a port the system chose, keeping everything in memory.
pub async fn start_collector() -> Collector {
    let listener = tokio::net::TcpListener::bind(crate::loopback(0))
        .await
        .expect("bind the collector");
    Collector::start(listener, CollectorConfig::in_memory())
        .await
        .expect("start the collector")
}

/// Waits until `predicate` holds for what `received` holds; panics after `timeout` with
/// `what` and a summary of what did arrive.
pub async fn wait_until(
    received: &Received,
    what: &str,
    timeout: Duration,
    predicate: impl FnMut(&Received) -> bool,
) {
    if !received.wait_for(predicate, timeout).await {
        panic!(
            "timed out after {timeout:?} waiting for {what}; received {:?}, spans: {:#?}",
            received.counts(),
            summary(&received.spans())
        );
    }
}

/// `SPAN_KIND_SERVER` as it travels in OTLP.
pub const SERVER: i32 = SpanKind::Server as i32;

/// `SPAN_KIND_CLIENT` as it travels in OTLP.
pub const CLIENT: i32 = SpanKind::Client as i32;

/// The spans whose `request.id` attribute is `request_id`.
pub fn spans_with_request_id<'a>(
    spans: &'a [ReceivedSpan],
    request_id: &str,
) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.attribute_str("request.id") == Some(request_id))
        .collect()
}

/// The server span named `name` that `service` made for `request_id`.
pub fn server_span<'a>(
    spans: &'a [ReceivedSpan],
    service: &str,
    request_id: &str,
    name: &str,
) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| {
        s.span.kind == SERVER
            && s.service_name() == Some(service)
            && s.attribute_str("request.id") == Some(request_id)
            && s.span.name == name
    })
}

/// Spans by (trace id, span id), to walk from a span to its parents.
#[derive(Debug)]
pub struct SpanIndex<'a> {
    by_id: HashMap<(String, String), &'a ReceivedSpan>,
}

impl<'a> SpanIndex<'a> {
    /// Indexes `spans`.
    pub fn new(spans: &'a [ReceivedSpan]) -> Self {
        let by_id = spans
            .iter()
            .map(|s| ((s.trace_id(), s.span_id()), s))
            .collect();
        Self { by_id }
    }

    /// The parent of `span`, if it was received.
    pub fn parent(&self, span: &ReceivedSpan) -> Option<&'a ReceivedSpan> {
        let parent = span.parent_span_id()?;
        self.by_id.get(&(span.trace_id(), parent)).copied()
    }

    /// The parents of `span`, nearest first, as far as they were received.
    pub fn ancestors(&self, span: &ReceivedSpan) -> Vec<&'a ReceivedSpan> {
        let mut chain: Vec<&'a ReceivedSpan> = Vec::new();
        let mut current = self.parent(span);
        while let Some(parent) = current {
            // A cycle would be a bug in the ids; stop rather than loop.
            if chain.len() > self.by_id.len() {
                break;
            }
            chain.push(parent);
            current = self.parent(parent);
        }
        chain
    }

    /// Whether `ancestor` is `span`'s parent, its parent's parent, and so on.
    pub fn descends_from(&self, span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
        self.ancestors(span).iter().any(|a| {
            a.span.span_id == ancestor.span.span_id && a.span.trace_id == ancestor.span.trace_id
        })
    }
}

/// One line per span (at most 200), for failure messages.
fn summary(spans: &[ReceivedSpan]) -> Vec<String> {
    spans
        .iter()
        .filter(|s| s.span.name != "GET /healthz")
        .take(200)
        .map(|s| {
            format!(
                "{} kind={} {:?} trace={} span={} parent={:?} request.id={:?}",
                s.service_name().unwrap_or("?"),
                s.span.kind,
                s.span.name,
                s.trace_id(),
                s.span_id(),
                s.parent_span_id(),
                s.attribute_str("request.id"),
            )
        })
        .collect()
}

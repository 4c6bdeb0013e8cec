//! The journey as one JSON document, for scripts (`ordertrail follow <id> --json`).
//!
//! ```json
//! {
//!   "request_id": "my-order-1",
//!   "traces": [{
//!     "trace_id": "ec8b5cac0a72df32c13f43e8cc37a03b",
//!     "start": "2026-11-24T19:14:43.547012345Z",
//!     "duration_ms": 9.8,
//!     "services": ["gateway", "orders", "inventory", "payments"],
//!     "span_count": 14,
//!     "order_to_shipped_ms": 3.2,
//!     "spans": [{
//!       "span_id": "…", "parent_span_id": null, "service": "gateway", "name": "POST /orders",
//!       "kind": "server", "start_offset_ms": 0.0, "duration_ms": 8.1, "status": "unset",
//!       "http_status": 201, "flagged": false,
//!       "logs": [{"timestamp": "…", "offset_ms": 8.0, "level": "INFO", "service": "gateway",
//!                 "message": "request completed", "fields": {"status": 201, "latency_ms": 8.0}}],
//!       "children": [ /* spans, the same shape */ ]
//!     }]
//!   }],
//!   "unplaced_logs": [ /* logs, the same shape, offset_ms from the first trace or line */ ]
//! }
//! ```
//! `traces` are oldest first (a retry with the same id is a second trace); `spans` holds the
//! roots of each trace, `children` nest in start order. `order_to_shipped_ms` is the time from
//! confirmation to shipment when the trace reached shipping, else `null`. Offsets are from the trace's first
//! span. `kind` is `server`, `client`, `internal`, `producer`, `consumer` or `unspecified`;
//! `status` is `unset`, `ok` or `error`; `flagged` is true for an error status or a non-2xx
//! `http_status`.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{LogRecord, SpanKind, SpanStatus};
use super::shipped::order_to_shipped_ms;
use super::tree::{Journey, SpanNode, TraceTree};

/// The document described in the module docs, keys in the order shown there.
pub fn to_json(journey: &Journey) -> String {
    let origin = journey.log_origin();
    let document = JourneyDoc {
        request_id: &journey.request_id,
        traces: journey.traces.iter().map(TraceDoc::new).collect(),
        unplaced_logs: journey
            .unplaced_logs
            .iter()
            .map(|l| LogDoc::new(l, origin))
            .collect(),
    };
    // Plain structs, strings and numbers: serializing cannot fail.
    serde_json::to_string(&document).unwrap_or_default()
}

/// The field order of these structs is the order in the document.
#[derive(Serialize)]
struct JourneyDoc<'a> {
    request_id: &'a str,
    traces: Vec<TraceDoc<'a>>,
    unplaced_logs: Vec<LogDoc<'a>>,
}

#[derive(Serialize)]
struct TraceDoc<'a> {
    trace_id: &'a str,
    start: String,
    duration_ms: f64,
    services: Vec<&'a str>,
    span_count: usize,
    order_to_shipped_ms: Option<f64>,
    spans: Vec<SpanDoc<'a>>,
}

#[derive(Serialize)]
struct SpanDoc<'a> {
    span_id: &'a str,
    parent_span_id: Option<&'a str>,
    service: &'a str,
    name: &'a str,
    kind: SpanKind,
    start_offset_ms: f64,
    duration_ms: f64,
    status: SpanStatus,
    http_status: Option<u16>,
    flagged: bool,
    logs: Vec<LogDoc<'a>>,
    children: Vec<SpanDoc<'a>>,
}

#[derive(Serialize)]
struct LogDoc<'a> {
    timestamp: String,
    offset_ms: f64,
    level: &'a str,
    service: &'a str,
    message: &'a str,
    span_id: Option<&'a str>,
    fields: &'a Map<String, Value>,
}

impl<'a> TraceDoc<'a> {
    fn new(trace: &'a TraceTree) -> Self {
        let origin = trace.start_unix_nano;
        Self {
            trace_id: &trace.trace_id,
            start: timestamp(origin),
            duration_ms: ms(trace.end_unix_nano.saturating_sub(origin)),
            services: trace.services(),
            span_count: trace.spans().len(),
            order_to_shipped_ms: order_to_shipped_ms(trace),
            spans: trace
                .roots
                .iter()
                .map(|r| SpanDoc::new(r, origin))
                .collect(),
        }
    }
}

impl<'a> SpanDoc<'a> {
    fn new(node: &'a SpanNode, origin: u64) -> Self {
        let s = &node.span;
        Self {
            span_id: &s.span_id,
            parent_span_id: s.parent_span_id.as_deref(),
            service: &s.service,
            name: &s.name,
            kind: s.kind,
            start_offset_ms: ms(s.start_unix_nano.saturating_sub(origin)),
            duration_ms: ms(s.duration_nanos()),
            status: s.status,
            http_status: s.http_status,
            flagged: s.is_flagged(),
            logs: node.logs.iter().map(|l| LogDoc::new(l, origin)).collect(),
            children: node
                .children
                .iter()
                .map(|c| SpanDoc::new(c, origin))
                .collect(),
        }
    }
}

impl<'a> LogDoc<'a> {
    fn new(log: &'a LogRecord, origin: u64) -> Self {
        Self {
            timestamp: timestamp(log.time_unix_nano),
            offset_ms: ms(log.time_unix_nano.saturating_sub(origin)),
            level: &log.level,
            service: &log.service,
            message: &log.message,
            span_id: log.span_id.as_deref(),
            fields: &log.fields,
        }
    }
}

/// Milliseconds with microsecond precision.
fn ms(nanos: u64) -> f64 {
    (nanos / 1_000) as f64 / 1_000.0
}

fn timestamp(unix_nano: u64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_nanos(unix_nano);
    humantime::format_rfc3339_nanos(time).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::journey::model::Evidence;
    use crate::journey::tree::tests::{log as log_at, span as span_at};

    #[test]
    fn the_document_nests_spans_and_their_logs() {
        let mut root = span_at("t", "root", None, 1_000_000);
        root.request_id = Some("r".into());
        root.http_status = Some(201);
        let child = span_at("t", "child", Some("root"), 3_500_000);
        let evidence = Evidence {
            spans: vec![root, child],
            logs: vec![log_at(Some("child"), 4_000_000, "r"), log_at(None, 0, "r")],
        };
        let doc: Value = serde_json::from_str(&to_json(&Journey::build("r", evidence))).unwrap();
        let root = &doc["traces"][0]["spans"][0];
        assert_eq!(root["http_status"], json!(201));
        assert_eq!(root["flagged"], json!(false));
        assert_eq!(root["kind"], json!("internal"));
        let child = &root["children"][0];
        assert_eq!(child["parent_span_id"], json!("root"));
        assert_eq!(child["start_offset_ms"], json!(2.5));
        assert_eq!(child["logs"][0]["offset_ms"], json!(3.0));
        assert_eq!(doc["traces"][0]["span_count"], json!(2));
        assert_eq!(doc["traces"][0]["order_to_shipped_ms"], Value::Null);
        assert_eq!(doc["unplaced_logs"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            doc["traces"][0]["start"],
            json!("1970-01-01T00:00:00.001000000Z")
        );
        let text = to_json(&Journey::build("r", Evidence::default()));
        assert_eq!(text, r#"{"request_id":"r","traces":[],"unplaced_logs":[]}"#);
    }
}

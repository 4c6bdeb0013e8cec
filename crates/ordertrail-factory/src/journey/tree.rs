//! [`Journey`]: the spans of one request id as trees, one per trace, with each log line under
//! the span it was written in.
//!
//! A trace is one attempt: a client that retries with the same request id makes a second
//! trace, and the journey shows both, oldest first. Children sit under their parent in start
//! order, so the dispatch that `orders` runs after answering comes after the calls that
//! answered. A span whose parent was not found (not exported, or a caller's span outside the
//! system) becomes a root of its trace. Log lines are placed by `span_id`; those that match
//! no span (written outside any span, or in a span that was not exported) are kept apart in
//! [`Journey::unplaced_logs`].

use std::collections::{HashMap, HashSet};

use super::model::{Evidence, LogRecord, SpanRecord};

/// One request's journey through the services.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    /// The request id followed.
    pub request_id: String,
    /// One tree per trace that carries the id, oldest first.
    pub traces: Vec<TraceTree>,
    /// Log lines for the id that no span of the traces holds, in time order.
    pub unplaced_logs: Vec<LogRecord>,
}

/// The spans of one trace as a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceTree {
    /// 32 hex digits.
    pub trace_id: String,
    /// The earliest start of any span, in nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// The latest end of any span.
    pub end_unix_nano: u64,
    /// Spans without a parent in the trace, in start order.
    pub roots: Vec<SpanNode>,
}

/// A span, the log lines written in it, and its children.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanNode {
    /// The span.
    pub span: SpanRecord,
    /// Lines written in this span (not in its children), in time order.
    pub logs: Vec<LogRecord>,
    /// Spans whose parent it is, in start order.
    pub children: Vec<SpanNode>,
}

impl Journey {
    /// Arranges what the sources found for `request_id`.
    pub fn build(request_id: &str, evidence: Evidence) -> Self {
        let mut logs_by_span = logs_by_span(evidence.logs);
        let mut traces: Vec<TraceTree> = group_by_trace(dedup(evidence.spans), request_id)
            .into_iter()
            .map(|(trace_id, spans)| TraceTree::build(trace_id, spans, &mut logs_by_span))
            .collect();
        traces.sort_by_key(|t| t.start_unix_nano);
        let mut unplaced_logs: Vec<LogRecord> = logs_by_span.into_values().flatten().collect();
        unplaced_logs.retain(|log| log.request_id.as_deref() == Some(request_id));
        unplaced_logs.sort_by_key(|log| log.time_unix_nano);
        Self {
            request_id: request_id.to_owned(),
            traces,
            unplaced_logs,
        }
    }

    /// What the offsets of log lines outside any span count from: the first trace's start or,
    /// with no trace, the first of those lines that has a time — never the Unix epoch.
    pub fn log_origin(&self) -> u64 {
        match self.traces.first() {
            Some(trace) => trace.start_unix_nano,
            None => self
                .unplaced_logs
                .iter()
                .map(|log| log.time_unix_nano)
                .filter(|time| *time > 0)
                .min()
                .unwrap_or(0),
        }
    }

    /// Whether nothing was found: no trace, no line.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty() && self.unplaced_logs.is_empty()
    }
}

impl TraceTree {
    fn build(
        trace_id: String,
        spans: Vec<SpanRecord>,
        logs: &mut HashMap<Option<String>, Vec<LogRecord>>,
    ) -> Self {
        let start_unix_nano = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
        let end_unix_nano = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(0);
        let roots = Forest::new(spans).grow(logs);
        Self {
            trace_id,
            start_unix_nano,
            end_unix_nano,
            roots,
        }
    }

    /// Every span of the tree, parents before children.
    pub fn spans(&self) -> Vec<&SpanNode> {
        let mut out = Vec::new();
        let mut stack: Vec<&SpanNode> = self.roots.iter().rev().collect();
        while let Some(node) = stack.pop() {
            out.push(node);
            stack.extend(node.children.iter().rev());
        }
        out
    }

    /// The services in the order they first appear, parents before children.
    pub fn services(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for node in self.spans() {
            if !out.contains(&node.span.service.as_str()) {
                out.push(&node.span.service);
            }
        }
        out
    }
}

/// Spans of one trace, indexed by parent, turned into trees.
struct Forest {
    ids: HashSet<String>,
    by_parent: HashMap<Option<String>, Vec<SpanRecord>>,
}

impl Forest {
    fn new(mut spans: Vec<SpanRecord>) -> Self {
        spans.sort_by(|a, b| (a.start_unix_nano, &a.span_id).cmp(&(b.start_unix_nano, &b.span_id)));
        let ids: HashSet<String> = spans.iter().map(|s| s.span_id.clone()).collect();
        let mut by_parent: HashMap<Option<String>, Vec<SpanRecord>> = HashMap::new();
        for span in spans {
            // A parent that is not here makes the span a root.
            let parent = span.parent_span_id.clone().filter(|p| ids.contains(p));
            by_parent.entry(parent).or_default().push(span);
        }
        Self { ids, by_parent }
    }

    fn grow(mut self, logs: &mut HashMap<Option<String>, Vec<LogRecord>>) -> Vec<SpanNode> {
        let mut seen = HashSet::new();
        let roots = self.by_parent.remove(&None).unwrap_or_default();
        let mut trees: Vec<SpanNode> = roots
            .into_iter()
            .map(|span| self.node(span, logs, &mut seen))
            .collect();
        // Spans in a parent cycle are reachable from no root: show them as roots.
        let mut stranded: Vec<SpanRecord> = self.by_parent.drain().flat_map(|(_, v)| v).collect();
        stranded.retain(|s| self.ids.contains(&s.span_id) && !seen.contains(&s.span_id));
        stranded.sort_by_key(|s| s.start_unix_nano);
        trees.extend(stranded.into_iter().map(|span| leaf(span, logs)));
        trees
    }

    fn node(
        &mut self,
        span: SpanRecord,
        logs: &mut HashMap<Option<String>, Vec<LogRecord>>,
        seen: &mut HashSet<String>,
    ) -> SpanNode {
        seen.insert(span.span_id.clone());
        let children = self
            .by_parent
            .remove(&Some(span.span_id.clone()))
            .unwrap_or_default()
            .into_iter()
            .map(|child| self.node(child, logs, seen))
            .collect();
        SpanNode {
            children,
            ..leaf(span, logs)
        }
    }
}

fn leaf(span: SpanRecord, logs: &mut HashMap<Option<String>, Vec<LogRecord>>) -> SpanNode {
    let logs = logs.remove(&Some(span.span_id.clone())).unwrap_or_default();
    SpanNode {
        span,
        logs,
        children: Vec::new(),
    }
}

/// Keeps the first of spans with the same trace and span id (a file read twice, a span
/// exported twice).
fn dedup(spans: Vec<SpanRecord>) -> Vec<SpanRecord> {
    let mut seen = HashSet::new();
    spans
        .into_iter()
        .filter(|s| seen.insert((s.trace_id.clone(), s.span_id.clone())))
        .collect()
}

/// The spans of each trace that carries `request_id`.
fn group_by_trace(spans: Vec<SpanRecord>, request_id: &str) -> Vec<(String, Vec<SpanRecord>)> {
    let ids = Evidence::trace_ids_of(&spans, request_id);
    let mut groups: Vec<(String, Vec<SpanRecord>)> =
        ids.into_iter().map(|id| (id, Vec::new())).collect();
    for span in spans {
        if let Some((_, group)) = groups.iter_mut().find(|(id, _)| *id == span.trace_id) {
            group.push(span);
        }
    }
    groups
}

/// Log lines by span id (`None`: written outside any span), each list in time order.
fn logs_by_span(mut logs: Vec<LogRecord>) -> HashMap<Option<String>, Vec<LogRecord>> {
    logs.sort_by_key(|log| log.time_unix_nano);
    let mut map: HashMap<Option<String>, Vec<LogRecord>> = HashMap::new();
    for log in logs {
        map.entry(log.span_id.clone()).or_default().push(log);
    }
    map
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::Map;

    use super::*;
    use crate::journey::model::{SpanKind, SpanStatus};

    pub(crate) fn span(trace: &str, id: &str, parent: Option<&str>, start: u64) -> SpanRecord {
        SpanRecord {
            trace_id: trace.into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            service: "gateway".into(),
            name: format!("op-{id}"),
            kind: SpanKind::Internal,
            start_unix_nano: start,
            end_unix_nano: start + 10,
            status: SpanStatus::Unset,
            http_status: None,
            request_id: None,
        }
    }

    pub(crate) fn log(span: Option<&str>, at: u64, request_id: &str) -> LogRecord {
        LogRecord {
            time_unix_nano: at,
            level: "INFO".into(),
            service: "gateway".into(),
            message: format!("at {at}"),
            request_id: Some(request_id.into()),
            trace_id: None,
            span_id: span.map(Into::into),
            fields: Map::new(),
        }
    }

    fn tagged(mut span: SpanRecord, request_id: &str) -> SpanRecord {
        span.request_id = Some(request_id.into());
        span
    }

    #[test]
    fn nests_children_in_start_order_and_places_logs() {
        let evidence = Evidence {
            spans: vec![
                span("t1", "c2", Some("root"), 50),
                tagged(span("t1", "root", None, 0), "r"),
                span("t1", "c1", Some("root"), 20),
                span("t1", "g", Some("c1"), 30),
                span("t2", "other", None, 0),
            ],
            logs: vec![
                log(Some("g"), 35, "r"),
                log(Some("root"), 5, "r"),
                log(None, 1, "r"),
                log(None, 2, "someone-else"),
            ],
        };
        let journey = Journey::build("r", evidence);
        assert_eq!(journey.traces.len(), 1, "only traces carrying the id");
        let root = &journey.traces[0].roots[0];
        assert_eq!(root.span.span_id, "root");
        let children: Vec<&str> = root
            .children
            .iter()
            .map(|c| c.span.span_id.as_str())
            .collect();
        assert_eq!(children, ["c1", "c2"]);
        assert_eq!(root.children[0].children[0].logs[0].time_unix_nano, 35);
        assert_eq!(root.logs.len(), 1);
        assert_eq!(journey.unplaced_logs.len(), 1);
        assert_eq!(journey.traces[0].end_unix_nano, 60);
    }

    #[test]
    fn retries_are_separate_traces_oldest_first_and_orphans_become_roots() {
        let evidence = Evidence {
            spans: vec![
                tagged(span("late", "a", None, 100), "r"),
                tagged(span("early", "b", Some("not-exported"), 10), "r"),
                span("early", "b", Some("not-exported"), 10),
            ],
            logs: vec![],
        };
        let journey = Journey::build("r", evidence);
        let ids: Vec<&str> = journey.traces.iter().map(|t| t.trace_id.as_str()).collect();
        assert_eq!(ids, ["early", "late"]);
        assert_eq!(journey.traces[0].roots.len(), 1, "duplicates dropped");
    }

    #[test]
    fn a_parent_cycle_still_shows_every_span() {
        let evidence = Evidence {
            spans: vec![
                tagged(span("t", "root", None, 0), "r"),
                span("t", "x", Some("y"), 5),
                span("t", "y", Some("x"), 6),
            ],
            logs: vec![],
        };
        let journey = Journey::build("r", evidence);
        assert_eq!(journey.traces[0].spans().len(), 3);
        assert!(!journey.is_empty());
    }
}

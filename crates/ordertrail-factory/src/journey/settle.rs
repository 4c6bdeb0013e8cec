//! [`Settled`]: whether a journey's spans have all arrived, for waiting on a trace that is
//! still being exported.
//!
//! Services write their log lines as they go, but export spans in batches (about once a
//! second), so right after an order the lines are there and some spans are not. A journey is
//! settled when
//! - at least one trace carries the id,
//! - every service that wrote a line for it has an entry span in it — a server span, or for a
//!   queue consumer (shipping over NATS) its consumer span — and
//! - every line written in a span sits under that span (no line waits for its span).
//!
//! Spans that arrive later without leaving any trace in the logs (a client span whose process
//! logged nothing) cannot be waited for this way; the waiting is bounded anyway.

use super::model::{LogRecord, SpanKind};
use super::tree::Journey;

/// What [`Journey::settled`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settled {
    /// Every span the log lines point to has arrived.
    Yes,
    /// Nothing carries the id: no span, no line.
    Nothing,
    /// Spans of these services (sorted) are still missing.
    Waiting(Vec<String>),
}

impl Journey {
    /// Whether the spans the log lines point to have all arrived; see the module docs.
    pub fn settled(&self) -> Settled {
        if self.is_empty() {
            return Settled::Nothing;
        }
        let mut servers: Vec<&str> = self.spans_of_kind(SpanKind::Server);
        servers.extend(self.spans_of_kind(SpanKind::Consumer));
        let mut waiting: Vec<String> = self
            .all_logs()
            .filter(|log| !servers.contains(&log.service.as_str()))
            .chain(self.unplaced_logs.iter().filter(|l| l.span_id.is_some()))
            .map(|log| log.service.clone())
            .collect();
        if self.traces.is_empty() {
            waiting.extend(self.unplaced_logs.iter().map(|l| l.service.clone()));
        }
        waiting.sort();
        waiting.dedup();
        if waiting.is_empty() {
            Settled::Yes
        } else {
            Settled::Waiting(waiting)
        }
    }

    /// The services of the spans of `kind`.
    fn spans_of_kind(&self, kind: SpanKind) -> Vec<&str> {
        let nodes = self.traces.iter().flat_map(|t| t.spans());
        nodes
            .filter(|node| node.span.kind == kind)
            .map(|node| node.span.service.as_str())
            .collect()
    }

    /// Every log line, in spans or not.
    fn all_logs(&self) -> impl Iterator<Item = &LogRecord> {
        let placed = self.traces.iter().flat_map(|t| t.spans());
        placed
            .flat_map(|node| &node.logs)
            .chain(&self.unplaced_logs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::model::{Evidence, SpanRecord};
    use crate::journey::tree::tests::{log, span};

    fn server(id: &str, parent: Option<&str>, service: &str) -> SpanRecord {
        let mut span = span("t", id, parent, 0);
        span.kind = SpanKind::Server;
        span.service = service.into();
        span.request_id = Some("r".into());
        span
    }

    fn logged(span_id: Option<&str>, service: &str) -> LogRecord {
        let mut line = log(span_id, 5, "r");
        line.service = service.into();
        line
    }

    fn settled(spans: Vec<SpanRecord>, logs: Vec<LogRecord>) -> Settled {
        Journey::build("r", Evidence { spans, logs }).settled()
    }

    #[test]
    fn lines_without_spans_wait_for_the_trace() {
        assert_eq!(settled(vec![], vec![]), Settled::Nothing);
        let lines = vec![logged(Some("g"), "gateway"), logged(Some("p"), "payments")];
        let waiting = Settled::Waiting(vec!["gateway".into(), "payments".into()]);
        assert_eq!(settled(vec![], lines), waiting);
    }

    #[test]
    fn a_service_that_logged_waits_for_its_server_span() {
        let spans = vec![server("g", None, "gateway")];
        let lines = vec![logged(Some("g"), "gateway"), logged(Some("p"), "payments")];
        let waiting = Settled::Waiting(vec!["payments".into()]);
        assert_eq!(settled(spans.clone(), lines.clone()), waiting);
        let mut all = spans;
        all.push(server("p", Some("g"), "payments"));
        assert_eq!(settled(all, lines), Settled::Yes);
    }

    #[test]
    fn a_queue_consumer_is_settled_by_its_consumer_span() {
        let mut process = server("s", Some("g"), "shipping");
        process.kind = SpanKind::Consumer;
        let lines = vec![logged(Some("g"), "gateway"), logged(Some("s"), "shipping")];
        let spans = vec![server("g", None, "gateway"), process];
        assert_eq!(settled(spans, lines), Settled::Yes);
    }

    #[test]
    fn a_line_waits_for_the_span_it_was_written_in() {
        let spans = vec![server("o", None, "orders")];
        let dispatch = logged(Some("dispatch"), "orders");
        let lines = vec![logged(Some("o"), "orders"), dispatch];
        let waiting = Settled::Waiting(vec!["orders".into()]);
        assert_eq!(settled(spans.clone(), lines.clone()), waiting);
        let mut all = spans;
        all.push(span("t", "dispatch", Some("o"), 3));
        assert_eq!(settled(all, lines), Settled::Yes);
        let outside = vec![logged(None, "orders")];
        assert_eq!(
            settled(vec![server("o", None, "orders")], outside),
            Settled::Yes
        );
    }
}

//! The journey as a waterfall for a terminal: one row per span — service, operation indented
//! under its parent, status, start offset, duration and a bar on the trace's time axis — with
//! the log lines written in each span right under it.
//!
//! ```text
//! ! SERVICE    OPERATION              STATUS    START   DURATION  |0 ──────────── 9.80ms|
//!   gateway    POST /orders              201   +0.00ms    8.10ms  |█████████████████     |
//!   gateway      place_order               -   +0.10ms    7.90ms  |█████████████████     |
//!                  +0.35ms INFO  order placed  status=confirmed
//! ! payments   POST /charges/{id}        402   +3.10ms    0.60ms  |       █              |
//! ```
//! Spans with an error status or a non-2xx answer carry a `!` in the first column and, with
//! colour on, are red. A span that ends after the first root span (work after the response,
//! like orders' dispatch) says so.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::model::{LogRecord, SpanKind, SpanRecord};
use super::tree::{Journey, SpanNode, TraceTree};

/// Width of the duration bar, in characters.
const BAR: usize = 28;
/// Widest operation column.
const MAX_OPERATION: usize = 52;
/// Log fields already shown by the span they are under, or by the trace's header.
const SPAN_FIELDS: [&str; 5] = ["method", "route", "path", "service", "order_id"];
/// Longest log line, in characters, before it is cut.
const MAX_LOG_LINE: usize = 160;

/// How to draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours (a terminal); otherwise markers only.
    pub colour: bool,
}

/// The whole journey as text, one block per trace, oldest first.
pub fn render(journey: &Journey, options: RenderOptions) -> String {
    let mut out = String::new();
    let count = journey.traces.len();
    for (n, trace) in journey.traces.iter().enumerate() {
        if count > 1 {
            let _ = writeln!(out, "attempt {} of {count} (same request id)", n + 1);
        }
        Waterfall::new(trace, options).write(&journey.request_id, &mut out);
        out.push('\n');
    }
    if journey.traces.is_empty() {
        let _ = writeln!(
            out,
            "request {}: no spans found, only log lines",
            journey.request_id
        );
    }
    if !journey.unplaced_logs.is_empty() {
        out.push_str("log lines outside any span found:\n");
        let origin = journey.traces.first().map_or(0, |t| t.start_unix_nano);
        for log in &journey.unplaced_logs {
            out.push_str(&log_line(log, origin, "  ", options));
        }
    }
    out
}

/// One row: a span, its depth, and whether it is the first of its branch to end after the
/// response.
struct Row<'a> {
    node: &'a SpanNode,
    depth: usize,
    after_response: bool,
}

impl Row<'_> {
    /// The operation column: the name indented by depth, and the after-response note.
    fn label(&self) -> String {
        let note = if self.after_response {
            "  (after response)"
        } else {
            ""
        };
        format!("{}{}{note}", "  ".repeat(self.depth), self.node.span.name)
    }
}

/// One trace being drawn.
struct Waterfall<'a> {
    trace: &'a TraceTree,
    options: RenderOptions,
    rows: Vec<Row<'a>>,
    operation_width: usize,
}

impl<'a> Waterfall<'a> {
    fn new(trace: &'a TraceTree, options: RenderOptions) -> Self {
        let response_end = trace.roots.first().map_or(0, |r| r.span.end_unix_nano);
        let mut rows = Vec::new();
        for root in &trace.roots {
            collect_rows(root, 0, response_end, false, &mut rows);
        }
        let widest = rows.iter().map(|r| r.label().chars().count()).max();
        Self {
            trace,
            options,
            operation_width: widest.unwrap_or(0).clamp("OPERATION".len(), MAX_OPERATION),
            rows,
        }
    }

    fn total(&self) -> u64 {
        (self
            .trace
            .end_unix_nano
            .saturating_sub(self.trace.start_unix_nano))
        .max(1)
    }

    fn write(&self, request_id: &str, out: &mut String) {
        let spans = self.rows.len();
        let services = self.trace.services().join(" > ");
        let order = order_id(self.trace).map_or_else(String::new, |id| format!("  order {id}"));
        let _ = writeln!(out, "request {request_id}{order}");
        let _ = writeln!(
            out,
            "trace {}  {}  {}  {spans} spans  {services}",
            self.trace.trace_id,
            timestamp(self.trace.start_unix_nano),
            millis(self.total()),
        );
        let axis = format!(
            "0 {:─^w$} {}",
            "",
            millis(self.total()),
            w = BAR.saturating_sub(12)
        );
        let _ = writeln!(
            out,
            "  {:<10} {:<ow$} {:>6} {:>9} {:>9}  |{axis:<BAR$}|",
            "SERVICE",
            "OPERATION",
            "STATUS",
            "START",
            "DURATION",
            ow = self.operation_width,
        );
        for row in &self.rows {
            out.push_str(&self.row(row));
            let indent = " ".repeat(13 + row.depth * 2 + 2);
            for log in &row.node.logs {
                out.push_str(&log_line(
                    log,
                    self.trace.start_unix_nano,
                    &indent,
                    self.options,
                ));
            }
        }
    }

    fn row(&self, row: &Row<'_>) -> String {
        let span = &row.node.span;
        let offset = span
            .start_unix_nano
            .saturating_sub(self.trace.start_unix_nano);
        let line = format!(
            "{} {:<10} {:<ow$} {:>6} {:>9} {:>9}  |{}|",
            if span.is_flagged() { '!' } else { ' ' },
            span.service,
            cut(&row.label(), self.operation_width),
            status(span),
            format!("+{}", millis(offset)),
            millis(span.duration_nanos()),
            bar(offset, span.duration_nanos(), self.total()),
            ow = self.operation_width,
        );
        let colour = if span.is_flagged() {
            Some("1;31")
        } else {
            service_colour(&span.service)
        };
        format!("{}\n", paint(&line, colour, self.options))
    }
}

/// `node` and its descendants, parents first, children in start order.
fn collect_rows<'a>(
    node: &'a SpanNode,
    depth: usize,
    response_end: u64,
    parent_late: bool,
    rows: &mut Vec<Row<'a>>,
) {
    let late = node.span.end_unix_nano > response_end;
    rows.push(Row {
        node,
        depth,
        after_response: late && !parent_late,
    });
    for child in &node.children {
        collect_rows(child, depth + 1, response_end, late || parent_late, rows);
    }
}

/// The first `order_id` any log line of the trace carries.
fn order_id(trace: &TraceTree) -> Option<&str> {
    let logs = trace.spans().into_iter().flat_map(|node| &node.logs);
    logs.filter_map(|log| log.fields.get("order_id")?.as_str())
        .next()
}

/// The HTTP status, or the span status for spans without one.
fn status(span: &SpanRecord) -> String {
    match (span.http_status, span.kind) {
        (Some(code), _) => code.to_string(),
        (None, _) if span.is_flagged() => "error".to_owned(),
        (None, SpanKind::Server | SpanKind::Client) => "?".to_owned(),
        (None, _) => "-".to_owned(),
    }
}

fn bar(offset: u64, duration: u64, total: u64) -> String {
    let scale =
        |n: u64| usize::try_from(u128::from(n) * BAR as u128 / u128::from(total)).unwrap_or(BAR);
    let start = scale(offset).min(BAR - 1);
    let len = scale(duration).clamp(1, BAR - start);
    format!(
        "{}{}{}",
        " ".repeat(start),
        "█".repeat(len),
        " ".repeat(BAR - start - len)
    )
}

fn log_line(log: &LogRecord, origin: u64, indent: &str, options: RenderOptions) -> String {
    let offset = log.time_unix_nano.saturating_sub(origin);
    let mut text = format!(
        "{indent}+{} {:<5} {}",
        millis(offset),
        log.level,
        log.message
    );
    for (key, value) in &log.fields {
        if SPAN_FIELDS.contains(&key.as_str()) {
            continue;
        }
        match value {
            Value::String(s) => {
                let _ = write!(text, "  {key}={s}");
            }
            Value::Number(n) if n.is_f64() => {
                let _ = write!(text, "  {key}={:.3}", n.as_f64().unwrap_or_default());
            }
            other => {
                let _ = write!(text, "  {key}={other}");
            }
        }
    }
    let colour = match log.level.as_str() {
        "ERROR" => Some("31"),
        "WARN" => Some("33"),
        _ => Some("2"),
    };
    format!("{}\n", paint(&cut(&text, MAX_LOG_LINE), colour, options))
}

fn service_colour(service: &str) -> Option<&'static str> {
    match service {
        "gateway" => Some("36"),
        "orders" => Some("33"),
        "inventory" => Some("32"),
        "payments" => Some("35"),
        _ => None,
    }
}

fn paint(text: &str, colour: Option<&str>, options: RenderOptions) -> String {
    match colour {
        Some(code) if options.colour => format!("\x1b[{code}m{text}\x1b[0m"),
        _ => text.to_owned(),
    }
}

/// `text` cut to `width` characters, with `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A duration in nanoseconds, readably: `0.42ms`, `12.3ms`, `1.20s`.
pub(crate) fn millis(nanos: u64) -> String {
    let ms = nanos as f64 / 1e6;
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// RFC 3339 with milliseconds.
fn timestamp(unix_nano: u64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_nanos(unix_nano);
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::model::Evidence;
    use crate::journey::tree::tests::{log, span};

    fn journey() -> Journey {
        let mut root = span("t", "root", None, 0);
        root.request_id = Some("r".into());
        root.end_unix_nano = 100;
        root.http_status = Some(201);
        let mut declined = span("t", "pay", Some("root"), 40);
        declined.http_status = Some(402);
        declined.service = "payments".into();
        let mut late = span("t", "late", Some("root"), 90);
        late.end_unix_nano = 150;
        Journey::build(
            "r",
            Evidence {
                spans: vec![root, declined, late],
                logs: vec![log(Some("pay"), 45, "r")],
            },
        )
    }

    #[test]
    fn flagged_spans_carry_a_marker_without_colour() {
        let text = render(&journey(), RenderOptions { colour: false });
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "request r", "{text}");
        assert!(
            rows[1].starts_with("trace t  1970-01-01T00:00:00.000Z"),
            "{text}"
        );
        assert!(rows[3].starts_with("  gateway"), "{text}");
        assert!(rows[4].starts_with("! payments     op-pay"), "{text}");
        assert!(
            rows[5].trim_start().starts_with("+0.00ms INFO  at 45"),
            "{text}"
        );
        assert!(rows[6].contains("op-late  (after response)"), "{text}");
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_paints_flagged_rows_red() {
        let text = render(&journey(), RenderOptions { colour: true });
        let row = text.lines().find(|l| l.contains("op-pay")).unwrap();
        assert!(row.starts_with("\x1b[1;31m!"), "{row:?}");
    }

    #[test]
    fn bars_stay_inside_the_axis() {
        assert_eq!(bar(0, 100, 100).chars().count(), BAR);
        assert_eq!(bar(100, 0, 100).chars().filter(|c| *c == '█').count(), 1);
        assert_eq!(millis(420_000), "0.42ms");
        assert_eq!(millis(1_200_000_000), "1.20s");
    }
}

//! The journey as a waterfall for a terminal: one row per span — service, operation indented
//! under its parent, status, start offset, duration and a bar on the trace's time axis — with
//! the log lines written in each span right under it.
//!
//! ```text
//! request r-1  order 0193…
//! trace 4bf92f3577b34da6a3ce929d0e0e4736  2026-11-24T19:14:43.548Z
//! 5 spans  9.80ms  gateway > payments
//!   SERVICE    OPERATION            STATUS     START  DURATION  |0 ──────────── 9.80ms|
//!   gateway    POST /orders            201   +0.00ms    8.10ms  |█████████████████     |
//!   gateway      place_order             -   +0.10ms    7.90ms  |█████████████████     |
//!                  +0.35ms INFO  order placed  status=confirmed
//! ! payments   POST /charges/{id}      402   +3.10ms    0.60ms  |       █              |
//! ```
//! Every line fits [`RenderOptions::width`]: the bar and the operation column share what the
//! other columns leave, and what is still too long is cut with `…`. Spans with an error status
//! or a non-2xx answer carry a `!` in the first column and, with colour on, are red. A span that
//! ends after the first root span (work after the response, like orders' dispatch) says so.
//!
//! Log lines outside any span carry their service, and their offsets count from the first
//! trace's start or, when no span was found, from the first line.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::layout::{Bars, Columns, Output, axis, bar, cut};
use super::log_lines::{LogStyle, write_unplaced};
use super::model::{SpanKind, SpanRecord};
use super::shipped::order_to_shipped_ms;
use super::tree::{Journey, SpanNode, TraceTree};

/// The width when none is given: what most terminals have at least.
pub const DEFAULT_WIDTH: usize = 100;

/// How to draw: build with [`RenderOptions::default`] and the setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderOptions {
    /// ANSI colours (a terminal); otherwise markers only.
    pub colour: bool,
    /// No line is wider than this many characters.
    pub width: usize,
    /// How bars are drawn.
    pub bars: Bars,
}

impl Default for RenderOptions {
    /// No colour, [`DEFAULT_WIDTH`] columns, ASCII bars: what suits a file or a pipe.
    fn default() -> Self {
        Self {
            colour: false,
            width: DEFAULT_WIDTH,
            bars: Bars::Ascii,
        }
    }
}

impl RenderOptions {
    /// Turns ANSI colours on or off.
    #[must_use]
    pub const fn colour(mut self, colour: bool) -> Self {
        self.colour = colour;
        self
    }

    /// Fits every line into `width` characters.
    #[must_use]
    pub const fn width(mut self, width: usize) -> Self {
        self.width = width;
        self
    }

    /// Draws bars with `bars`.
    #[must_use]
    pub const fn bars(mut self, bars: Bars) -> Self {
        self.bars = bars;
        self
    }
}

/// The whole journey as text, one block per trace, oldest first.
pub fn render(journey: &Journey, options: RenderOptions) -> String {
    let mut out = Output::new(options);
    let count = journey.traces.len();
    for (n, trace) in journey.traces.iter().enumerate() {
        if count > 1 {
            out.line(&format!("attempt {} of {count} (same request id)", n + 1));
        }
        Waterfall::new(trace, options).write(&journey.request_id, &mut out);
        out.text.push('\n');
    }
    if journey.traces.is_empty() {
        let id = &journey.request_id;
        out.line(&format!("request {id}: no spans found, only log lines"));
    }
    write_unplaced(journey, &mut out);
    out.text
}

/// One row: a span, its depth, and whether it is the first of its branch to end after the
/// response of the request it runs in (its nearest server span above it, or the trace's first
/// root): work spawned for a request, like orders' dispatch, that outlives its answer.
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
    columns: Columns,
}

impl<'a> Waterfall<'a> {
    fn new(trace: &'a TraceTree, options: RenderOptions) -> Self {
        let response_end = trace.roots.first().map_or(0, |r| r.span.end_unix_nano);
        let mut rows = Vec::new();
        for root in &trace.roots {
            collect_rows(root, 0, response_end, false, &mut rows);
        }
        let widest = |f: &dyn Fn(&Row<'_>) -> usize| rows.iter().map(f).max().unwrap_or(0);
        let service = widest(&|r| r.node.span.service.chars().count());
        let label = widest(&|r| r.label().chars().count());
        Self {
            trace,
            options,
            columns: Columns::fit(options.width, service, label),
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

    fn write(&self, request_id: &str, out: &mut Output) {
        let services = self.trace.services().join(" > ");
        let order = order_id(self.trace).map_or_else(String::new, |id| format!("  order {id}"));
        out.line(&format!("request {request_id}{order}"));
        let start = timestamp(self.trace.start_unix_nano);
        out.line(&format!("trace {}  {start}", self.trace.trace_id));
        let total = millis(self.total());
        out.line(&format!("{} spans  {total}  {services}", self.rows.len()));
        if let Some(ms) = order_to_shipped_ms(self.trace) {
            out.line(&format!("shipped {ms:.2}ms after the order was confirmed"));
        }
        out.line(&self.header());
        for row in &self.rows {
            self.row(row, out);
            let style = LogStyle {
                indent: " ".repeat(2 + self.columns.service + 1 + row.depth * 2 + 2),
                origin: self.trace.start_unix_nano,
                service: None,
            };
            for log in &row.node.logs {
                style.write(log, out);
            }
        }
    }

    fn header(&self) -> String {
        let Columns {
            service,
            operation,
            bar,
        } = self.columns;
        let mut line = format!(
            "  {:<service$} {:<operation$} {:>6} {:>9} {:>9}",
            "SERVICE", "OPERATION", "STATUS", "START", "DURATION"
        );
        if bar > 0 {
            let axis = axis(&millis(self.total()), bar, self.options.bars);
            let _ = write!(line, "  |{axis:<bar$}|");
        }
        line
    }

    fn row(&self, row: &Row<'_>, out: &mut Output) {
        let span = &row.node.span;
        let Columns {
            service,
            operation,
            bar: width,
        } = self.columns;
        let offset = span
            .start_unix_nano
            .saturating_sub(self.trace.start_unix_nano);
        let mut line = format!(
            "{} {:<service$} {:<operation$} {:>6} {:>9} {:>9}",
            if span.is_flagged() { '!' } else { ' ' },
            cut(&span.service, service),
            cut(&row.label(), operation),
            status(span),
            format!("+{}", millis(offset)),
            millis(span.duration_nanos()),
        );
        if width > 0 {
            let drawn = bar(
                offset,
                span.duration_nanos(),
                self.total(),
                width,
                self.options.bars,
            );
            let _ = write!(line, "  |{drawn}|");
        }
        let colour = if span.is_flagged() {
            Some("1;31")
        } else {
            service_colour(&span.service)
        };
        out.painted(&line, colour);
    }
}

/// `node` and its descendants, parents first, children in start order; `response_end` is
/// when the request `node` runs in was answered.
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
    let answered = match node.span.kind {
        SpanKind::Server => node.span.end_unix_nano,
        _ => response_end,
    };
    for child in &node.children {
        collect_rows(child, depth + 1, answered, late || parent_late, rows);
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

fn service_colour(service: &str) -> Option<&'static str> {
    match service {
        "gateway" => Some("36"),
        "orders" => Some("33"),
        "inventory" => Some("32"),
        "payments" => Some("35"),
        "shipping" => Some("34"),
        _ => None,
    }
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

    /// 2026-12-01, in nanoseconds since the epoch.
    const NOW: u64 = 1_796_185_015_640_000_000;

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

    /// A trace five levels deep with long names, long log lines and a line outside any span.
    fn deep_journey() -> Journey {
        let long = "POST /reservations/{order_id}/commit-with-a-rather-long-name";
        let mut spans = vec![span("t", "s0", None, NOW)];
        spans[0].request_id = Some("r".into());
        for depth in 1..6 {
            let mut child = span(
                "t",
                &format!("s{depth}"),
                Some(&format!("s{}", depth - 1)),
                NOW,
            );
            child.name = long.into();
            child.service = "a-service-with-a-long-name".into();
            child.end_unix_nano = NOW + 5_000_000;
            spans.push(child);
        }
        let mut inner = log(Some("s5"), NOW + 1_000, "r");
        inner.message = "x".repeat(300);
        let mut outside = log(None, NOW + 2_000, "r");
        outside.service = "a-service-with-a-long-name".into();
        Journey::build(
            "r",
            Evidence {
                spans,
                logs: vec![inner, outside],
            },
        )
    }

    /// The characters a terminal shows: the text without its colour codes.
    fn visible(line: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in line.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (false, c) => out.push(c),
                (true, _) => {}
            }
        }
        out
    }

    #[test]
    fn every_line_fits_the_width_and_long_names_are_cut() {
        for width in [60, 80, 100, 160] {
            for colour in [false, true] {
                let options = RenderOptions::default().width(width).colour(colour);
                let text = render(&deep_journey(), options);
                for line in text.lines() {
                    let shown = visible(line).chars().count();
                    assert!(shown <= width, "{shown} > {width}: {line:?}\n{text}");
                }
                assert!(text.contains('…'), "{text}");
            }
        }
        let wide = render(&deep_journey(), RenderOptions::default().width(160));
        assert!(
            wide.contains("POST /reservations/{order_id}/commit-with"),
            "{wide}"
        );
        let narrow = render(&deep_journey(), RenderOptions::default().width(80));
        assert!(narrow.contains("POST /reserv"), "{narrow}");
        assert!(
            !narrow.contains("commit-with-a-rather-long-name"),
            "{narrow}"
        );
    }

    #[test]
    fn the_bar_column_grows_with_the_terminal() {
        let row = |width: usize| {
            let text = render(&journey(), RenderOptions::default().width(width));
            text.lines()
                .find(|l| l.contains("op-root"))
                .unwrap()
                .to_owned()
        };
        let bar_width = |width| row(width).rsplit('|').nth(1).unwrap().chars().count();
        assert!(bar_width(160) > bar_width(80), "{}\n{}", row(160), row(80));
        assert_eq!(
            row(80).chars().count(),
            80,
            "the bar takes the rest: {}",
            row(80)
        );
    }

    #[test]
    fn flagged_spans_carry_a_marker_without_colour() {
        let text = render(&journey(), RenderOptions::default());
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "request r", "{text}");
        assert_eq!(rows[1], "trace t  1970-01-01T00:00:00.000Z", "{text}");
        assert!(
            rows[2].starts_with("3 spans  0.00ms  gateway > payments"),
            "{text}"
        );
        assert!(rows[4].starts_with("  gateway"), "{text}");
        assert!(rows[5].starts_with("! payments   op-pay"), "{text}");
        assert!(
            rows[6].trim_start().starts_with("+0.00ms INFO  at 45"),
            "{text}"
        );
        assert!(rows[7].contains("op-late  (after response)"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.is_ascii(), "ASCII bars by default: {text}");
    }

    #[test]
    fn work_outliving_its_own_request_is_after_response_even_within_the_callers() {
        let mut root = span("t", "root", None, 0);
        root.request_id = Some("r".into());
        root.kind = SpanKind::Server;
        root.end_unix_nano = 100;
        let mut inner = span("t", "inner", Some("root"), 10);
        inner.kind = SpanKind::Server;
        inner.end_unix_nano = 60;
        let mut spawned = span("t", "spawned", Some("inner"), 50);
        spawned.end_unix_nano = 80;
        let mut within = span("t", "within", Some("inner"), 20);
        within.end_unix_nano = 40;
        let spawned_child = span("t", "spawned-child", Some("spawned"), 60);
        let journey = Journey::build(
            "r",
            Evidence {
                spans: vec![root, inner, spawned, within, spawned_child],
                logs: Vec::new(),
            },
        );
        let text = render(&journey, RenderOptions::default());
        let row = |name: &str| {
            text.lines()
                .find(|l| l.contains(&format!("op-{name} ")) || l.ends_with(&format!("op-{name}")))
                .unwrap_or_else(|| panic!("{name}: {text}"))
                .to_owned()
        };
        assert!(
            row("spawned").contains("op-spawned  (after response)"),
            "{text}"
        );
        assert!(!row("within").contains("after response"), "{text}");
        assert!(
            !row("spawned-child").contains("after response"),
            "once a branch: {text}"
        );
        assert!(!row("inner").contains("after response"), "{text}");
    }

    #[test]
    fn colour_paints_flagged_rows_red_and_blocks_draw_bars() {
        let options = RenderOptions::default().colour(true).bars(Bars::Blocks);
        let text = render(&journey(), options);
        let row = text.lines().find(|l| l.contains("op-pay")).unwrap();
        assert!(row.starts_with("\x1b[1;31m!"), "{row:?}");
        assert!(row.contains('█') && !row.contains('#'), "{row:?}");
    }

    #[test]
    fn durations_read_in_the_right_unit() {
        assert_eq!(millis(420_000), "0.42ms");
        assert_eq!(millis(12_340_000), "12.3ms");
        assert_eq!(millis(1_200_000_000), "1.20s");
    }
}

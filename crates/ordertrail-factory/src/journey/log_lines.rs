//! Log lines as text: under their span, or outside any span with their service, offsets
//! counting from the trace's start or, with no trace, from the first line (never the epoch).

use std::fmt::Write as _;

use serde_json::Value;

use super::layout::{Output, cut};
use super::model::LogRecord;
use super::render::millis;
use super::tree::Journey;

/// Log fields already shown by the span they are under, or by the trace's header.
const SPAN_FIELDS: [&str; 5] = ["method", "route", "path", "service", "order_id"];
/// The flight recorder's marker fields, shown as the `↺ replayed(<trigger>)` mark instead.
const REPLAY_FIELDS: [&str; 2] = ["replayed", "replay_trigger"];
/// Widest service column.
const SERVICE: usize = 12;

/// Log lines outside any span, each with its service.
pub(super) fn write_unplaced(journey: &Journey, out: &mut Output) {
    if journey.unplaced_logs.is_empty() {
        return;
    }
    if !journey.traces.is_empty() {
        out.line("log lines outside any span found:");
    }
    let services = journey
        .unplaced_logs
        .iter()
        .map(|l| l.service.chars().count());
    let style = LogStyle {
        indent: "  ".to_owned(),
        origin: journey.log_origin(),
        service: Some(services.max().unwrap_or(0).min(SERVICE)),
    };
    for log in &journey.unplaced_logs {
        style.write(log, out);
    }
}

/// How log lines are laid out: their indent, what their offsets count from, and whether they
/// name their service (in a column this wide).
pub(super) struct LogStyle {
    /// Spaces before the offset.
    pub(super) indent: String,
    /// What offsets count from, in nanoseconds since the epoch.
    pub(super) origin: u64,
    /// The service column's width, for lines outside any span.
    pub(super) service: Option<usize>,
}

impl LogStyle {
    /// Writes `log` as one line.
    pub(super) fn write(&self, log: &LogRecord, out: &mut Output) {
        let mut text = format!("{}{}", self.indent, offset(log.time_unix_nano, self.origin));
        if let Some(width) = self.service {
            let _ = write!(text, " {:<width$}", cut(&log.service, width));
        }
        let mark = replay_mark(log);
        let _ = write!(text, " {:<5} {mark}{}", log.level, log.message);
        write_fields(log, &mut text);
        let colour = match log.level.as_str() {
            "ERROR" => "31",
            "WARN" => "33",
            _ => "2",
        };
        out.painted(&text, Some(colour));
    }
}

/// `↺ replayed(<trigger>) ` for a line the flight recorder wrote after the fact (with its
/// original time, so it sits where it happened), else nothing.
fn replay_mark(log: &LogRecord) -> String {
    if log.fields.get("replayed") != Some(&Value::Bool(true)) {
        return String::new();
    }
    let trigger = log.fields.get("replay_trigger").and_then(Value::as_str);
    format!("↺ replayed({}) ", trigger.unwrap_or("?"))
}

/// The line's own fields, `  key=value` each.
fn write_fields(log: &LogRecord, text: &mut String) {
    for (key, value) in &log.fields {
        if SPAN_FIELDS.contains(&key.as_str()) || REPLAY_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let _ = match value {
            Value::String(s) => write!(text, "  {key}={s}"),
            Value::Number(n) if n.is_f64() => {
                write!(text, "  {key}={:.3}", n.as_f64().unwrap_or_default())
            }
            other => write!(text, "  {key}={other}"),
        };
    }
}

/// `+1.20ms` after `origin`, `-1.20ms` before it, `?` for a line without a time.
fn offset(time: u64, origin: u64) -> String {
    match time {
        0 => "?".to_owned(),
        t if t >= origin => format!("+{}", millis(t - origin)),
        t => format!("-{}", millis(origin - t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::model::Evidence;
    use crate::journey::render::{RenderOptions, render};
    use crate::journey::tree::tests::log;

    /// 2026-12-01, in nanoseconds since the epoch.
    const NOW: u64 = 1_796_185_015_640_000_000;

    #[test]
    fn log_only_journeys_count_from_the_first_line_and_name_the_service() {
        let mut first = log(None, NOW + 12_000_000, "r");
        first.service = "payments".into();
        first.message = "charge declined".into();
        let mut later = log(Some("never-exported"), NOW + 20_000_000, "r");
        later.message = "request completed".into();
        let logs = vec![later, first];
        let journey = Journey::build(
            "r",
            Evidence {
                spans: vec![],
                logs,
            },
        );
        let text = render(&journey, RenderOptions::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0], "request r: no spans found, only log lines",
            "{text}"
        );
        assert!(
            lines[1].starts_with("  +0.00ms payments INFO  charge declined"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("  +8.00ms gateway  INFO  request completed"),
            "{text}"
        );
        assert!(!text.contains("1796185"), "no epoch offsets: {text}");
        assert_eq!(journey.log_origin(), NOW + 12_000_000);
    }

    #[test]
    fn a_replayed_line_sits_at_its_own_time_and_is_marked() {
        let mut completed = log(None, NOW + 9_000_000, "r");
        completed.message = "request completed".into();
        let mut detail = log(None, NOW + 4_000_000, "r");
        detail.level = "DEBUG".into();
        detail.message = "charging".into();
        detail.fields.insert("replayed".into(), Value::Bool(true));
        let trigger = Value::from("server_error");
        detail.fields.insert("replay_trigger".into(), trigger);
        detail.fields.insert("amount_cents".into(), 1200.into());
        let first = log(None, NOW, "r");
        let evidence = Evidence {
            spans: vec![],
            logs: vec![completed, detail, first],
        };
        let text = render(&Journey::build("r", evidence), RenderOptions::default());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].ends_with("DEBUG ↺ replayed(server_error) charging  amount_cents=1200"),
            "{text}"
        );
        assert!(lines[3].contains("request completed"), "{text}");
    }

    #[test]
    fn offsets_before_the_origin_or_without_a_time_say_so() {
        assert_eq!(offset(5_000_000, 6_000_000), "-1.00ms");
        assert_eq!(offset(0, 6_000_000), "?");
        assert_eq!(offset(NOW, NOW), "+0.00ms");
    }
}

//! [`HumanLayer`]: the `--log-format pretty` output, one short line per event for a terminal.
//!
//! ```text
//! 19:00:43.489 INFO  01a20eee-8959-763f-8d3c-b6263da19310 request completed status=201 latency_ms=8.5 method=POST route=/orders
//! ```
//! It reads the same [`FlatRecord`](super::FlatRecord) as the JSON layer, so both show the same fields. Control
//! characters in values are escaped, so one event stays one line here too.

use std::io::{IsTerminal, Write};
use std::time::SystemTime;

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::json::{store_span_fields, update_span_fields};
use super::record::{FlatRecord, Scratch, with_scratch};
use super::timestamp::push_rfc3339_micros;
use super::value::FieldValue;
use crate::recorder::{KeptEvent, Marker, ReplaySink};

/// A `tracing_subscriber` layer writing short human-readable lines to `W`.
#[derive(Debug)]
pub struct HumanLayer<W> {
    make_writer: W,
    ansi: bool,
}

impl<W> HumanLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// Writes to `make_writer`, coloured when stdout is a terminal.
    pub fn new(make_writer: W) -> Self {
        Self {
            make_writer,
            ansi: std::io::stdout().is_terminal(),
        }
    }

    /// The flight recorder's way into this output: kept events as short lines with their own
    /// time, a `↺` before the request id and `replayed=<trigger>` at the end.
    pub fn replay_sink(&self) -> HumanReplay<W>
    where
        W: Clone,
    {
        HumanReplay(Self {
            make_writer: self.make_writer.clone(),
            ansi: self.ansi,
        })
    }
}

/// A [`HumanLayer`]'s output for the flight recorder ([`HumanLayer::replay_sink`]).
#[derive(Debug)]
pub struct HumanReplay<W>(HumanLayer<W>);

impl<W> ReplaySink for HumanReplay<W>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    fn replay(&self, event: &KeptEvent, marker: &Marker) {
        with_scratch(|scratch| {
            let line = &mut scratch.line;
            line.clear();
            let layer = &self.0;
            layer.format(
                line,
                event.level(),
                &event.record(),
                event.time(),
                Some(marker),
            );
            if let Err(err) = layer.make_writer.make_writer().write_all(line) {
                eprintln!("ordertrail: a replayed log line could not be written: {err}");
            }
        });
    }
}

impl<S, W> Layer<S> for HumanLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        store_span_fields(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        update_span_fields(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        with_scratch(|scratch| self.write_event(event, &ctx, scratch));
    }
}

impl<W> HumanLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn write_event<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>, scratch: &mut Scratch)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Scratch { flat, line } = scratch;
        let record = flat.of(event, ctx);
        line.clear();
        let level = *event.metadata().level();
        self.format(line, level, record, record.time_or_now(), None);
        if let Err(err) = self
            .make_writer
            .make_writer_for(event.metadata())
            .write_all(line)
        {
            eprintln!("ordertrail: a log line could not be written: {err}");
        }
    }

    /// One line: time, level, (a replay mark), request id, message, fields.
    fn format(
        &self,
        line: &mut Vec<u8>,
        level: Level,
        record: &FlatRecord,
        time: SystemTime,
        marker: Option<&Marker>,
    ) {
        put_clock_millis(line, time);
        line.push(b' ');
        line.extend_from_slice(self.level(level).as_bytes());
        line.push(b' ');
        if marker.is_some() {
            line.extend_from_slice("↺ ".as_bytes());
        }
        if let Some(id) = &record.request_id {
            line.extend_from_slice(id.as_str().as_bytes());
            line.push(b' ');
        }
        if let Some(message) = &record.message {
            put_value(line, message);
        }
        for (name, value) in &record.fields {
            line.push(b' ');
            line.extend_from_slice(name.as_bytes());
            line.push(b'=');
            put_value(line, value);
        }
        if let Some(marker) = marker {
            let _ = write!(line, " replayed={}", marker.trigger.as_str());
            if marker.dropped > 0 {
                let _ = write!(line, " replay_dropped={}", marker.dropped);
            }
        }
        line.push(b'\n');
    }

    /// The level, five wide, in its colour when the terminal shows colours.
    fn level(&self, level: Level) -> &'static str {
        match (level, self.ansi) {
            (Level::ERROR, true) => "\x1b[31mERROR\x1b[0m",
            (Level::WARN, true) => "\x1b[33mWARN \x1b[0m",
            (Level::INFO, true) => "\x1b[32mINFO \x1b[0m",
            (Level::DEBUG, true) => "\x1b[2mDEBUG\x1b[0m",
            (_, true) => "\x1b[2mTRACE\x1b[0m",
            (Level::ERROR, false) => "ERROR",
            (Level::WARN, false) => "WARN ",
            (Level::INFO, false) => "INFO ",
            (Level::DEBUG, false) => "DEBUG",
            (_, false) => "TRACE",
        }
    }
}

/// `HH:MM:SS.mmm` (UTC) of `time`: the clock part of its RFC 3339 timestamp.
fn put_clock_millis(line: &mut Vec<u8>, time: SystemTime) {
    let start = line.len();
    push_rfc3339_micros(line, time);
    // `YYYY-MM-DDTHH:MM:SS.ffffffZ`: keep `HH:MM:SS.fff`.
    line.copy_within(start + 11..start + 23, start);
    line.truncate(start + 12);
}

/// Writes a value with control characters escaped, so the line stays one line; a float with
/// three decimals; an integer or a boolean as a JSON line writes it.
fn put_value(line: &mut Vec<u8>, value: &FieldValue) {
    match value {
        FieldValue::Str(s) => put_text(line, s),
        FieldValue::F64(v) => put_float(line, *v),
        number_or_bool => super::json_text::put_value(line, number_or_bool),
    }
}

/// `value` as `{:.3}` writes it. A positive value below a billion (a latency in milliseconds)
/// is written from its thousandths as integers, unless it lies within a thousandth of a
/// thousandth of a rounding tie, where the product's own rounding could tip it; the
/// formatter writes the rest.
fn put_float(line: &mut Vec<u8>, value: f64) {
    let scaled = value * 1000.0;
    let tie_distance = (scaled.fract() - 0.5).abs();
    if !(value > 0.0 && value < 1e9 && tie_distance > 1e-3) {
        let _ = write!(line, "{value:.3}");
        return;
    }
    // In range and positive: the cast neither saturates nor drops a sign.
    let thousandths = scaled.round() as u64;
    let mut digits = itoa::Buffer::new();
    line.extend_from_slice(digits.format(thousandths / 1000).as_bytes());
    line.push(b'.');
    let fraction = thousandths % 1000;
    let fraction = digits.format(fraction);
    line.extend(std::iter::repeat_n(b'0', 3 - fraction.len()));
    line.extend_from_slice(fraction.as_bytes());
}

/// `text` as [`str::escape_debug`] writes it; printable ASCII without quotes or backslashes
/// (most values) is copied as it is, without escaping it character by character.
fn put_text(line: &mut Vec<u8>, text: &str) {
    let plain = |b: &u8| matches!(b, b' '..=b'~') && !matches!(b, b'"' | b'\'' | b'\\');
    if text.bytes().all(|b| plain(&b)) {
        line.extend_from_slice(text.as_bytes());
    } else {
        let _ = write!(line, "{}", text.escape_debug());
    }
}

#[cfg(test)]
mod tests {
    use tracing::info;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::correlation::{self, RequestId};
    use crate::logging::json::tests::Capture;

    /// Runs `f` with an uncoloured human layer writing to a capture; the lines it wrote.
    fn human_lines(f: impl FnOnce()) -> Vec<String> {
        let capture = Capture::default();
        let layer = HumanLayer {
            make_writer: capture.clone(),
            ansi: false,
        };
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        capture.lines()
    }

    /// What follows the time and level of `line`.
    fn after_level(line: &str) -> &str {
        let rest = line.split_once(' ').map_or("", |(_, rest)| rest);
        rest.split_once(' ')
            .map_or("", |(_, rest)| rest)
            .trim_start()
    }

    #[test]
    fn numbers_are_written_as_the_formatter_writes_them() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut floats = vec![
            0.0,
            -0.0,
            -1.5,
            0.0005,
            0.0015,
            2.5e-4,
            1.0005,
            999.9995,
            1e9,
            1e9 - 0.5,
            3.25e15,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            923.891088,
        ];
        for _ in 0..20_000 {
            let bits = rng.u64(..);
            // Latencies (0-10 s in ms, some on thousandths ties) and arbitrary doubles.
            floats.push((bits % 10_000_000) as f64 / 1000.0 + 0.0005 * (bits % 2) as f64);
            floats.push(f64::from_bits(bits));
        }
        for value in floats {
            let mut line = Vec::new();
            put_value(&mut line, &FieldValue::F64(value));
            assert_eq!(
                String::from_utf8(line).unwrap(),
                format!("{value:.3}"),
                "{value:e}"
            );
        }
        for (value, text) in [
            (FieldValue::I64(i64::MIN), i64::MIN.to_string()),
            (FieldValue::U64(u64::MAX), u64::MAX.to_string()),
            (FieldValue::Bool(false), "false".to_owned()),
        ] {
            let mut line = Vec::new();
            put_value(&mut line, &value);
            assert_eq!(String::from_utf8(line).unwrap(), text);
        }
    }

    #[test]
    fn one_event_is_one_line_with_control_characters_escaped() {
        let hostile = "a \"b\"\nINFO forged line\r\t\u{0}\u{1b}[31m";
        let lines = human_lines(|| info!(note = hostile, "{hostile}"));
        let [line] = &lines[..] else {
            panic!("expected one line, got {lines:?}");
        };
        let escaped = hostile.escape_debug().to_string();
        assert_eq!(after_level(line), format!("{escaped} note={escaped}"));
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }

    #[tokio::test]
    async fn the_request_id_follows_the_level() {
        let capture = Capture::default();
        let layer = HumanLayer {
            make_writer: capture.clone(),
            ansi: false,
        };
        let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        let id: RequestId = "order-42".parse().unwrap();
        correlation::scope(id, async { info!("inside") }).await;
        info!("outside");
        let lines = capture.lines();
        assert_eq!(after_level(&lines[0]), "order-42 inside");
        assert_eq!(after_level(&lines[1]), "outside");
    }

    #[test]
    fn span_fields_come_root_to_leaf_after_the_message_and_the_event_wins() {
        let lines = human_lines(|| {
            let outer = tracing::info_span!("outer", tenant = "acme", shared = "outer");
            let inner = tracing::info_span!(parent: &outer, "inner", order = 7, shared = "inner");
            inner.in_scope(|| info!(shared = "event", step = "pay", "paid"));
        });
        assert_eq!(
            after_level(&lines[0]),
            "paid tenant=acme shared=event order=7 step=pay"
        );
    }

    #[test]
    fn dotted_fields_of_the_user_show_and_span_attributes_do_not() {
        let lines = human_lines(|| {
            let span = tracing::info_span!(
                "request",
                http.request.method = "GET",
                server.port = 8080,
                otel.kind = "server",
                order.id = 7,
            );
            span.in_scope(|| info!("loaded"));
        });
        assert_eq!(after_level(&lines[0]), "loaded method=GET order.id=7");
    }

    #[test]
    fn text_is_written_as_escape_debug_writes_it() {
        let ascii: Vec<String> = (0u8..=127).map(|b| char::from(b).to_string()).collect();
        let others = [
            "plain words",
            "a \"b\"\nc",
            "tab\there",
            "é ü",
            "\u{200b}",
            "' \\",
        ];
        for text in ascii.iter().map(String::as_str).chain(others) {
            let mut line = Vec::new();
            put_text(&mut line, text);
            assert_eq!(
                line,
                text.escape_debug().to_string().into_bytes(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_clock_is_the_time_of_day_to_the_millisecond() {
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(1_764_669_845_123_987);
        let mut line = b"> ".to_vec();
        put_clock_millis(&mut line, time);
        let stamp = humantime::format_rfc3339_millis(time).to_string();
        assert_eq!(line, format!("> {}", &stamp[11..23]).into_bytes());
    }

    #[test]
    fn a_card_number_in_a_field_value_is_masked() {
        let lines = human_lines(|| info!(note = "paid with 4242424242424242", "charged"));
        let note = lines[0].split_once("note=").map_or("", |(_, note)| note);
        assert!(note.starts_with("paid with "), "{}", lines[0]);
        assert!(
            note.chars().filter(char::is_ascii_digit).count() < 13,
            "{}",
            lines[0]
        );
    }

    #[test]
    fn a_replayed_line_is_marked_and_keeps_its_time() {
        use crate::recorder::{Marker, ReplaySink as _, Trigger};
        let kept =
            crate::recorder::kept_tests::kept_events(|| tracing::debug!(amount = 12, "charging"));
        let capture = Capture::default();
        let layer = HumanLayer {
            make_writer: capture.clone(),
            ansi: false,
        };
        let marker = Marker {
            trigger: Trigger::Slow,
            dropped: 0,
        };
        layer.replay_sink().replay(&kept[0], &marker);
        let lines = capture.lines();
        assert_eq!(after_level(&lines[0]), "↺ charging amount=12 replayed=slow");
        let stamp = humantime::format_rfc3339_millis(kept[0].time()).to_string();
        assert!(lines[0].starts_with(&stamp[11..23]), "{}", lines[0]);
    }
}

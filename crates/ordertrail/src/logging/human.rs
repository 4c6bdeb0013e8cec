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
use super::record::{Scratch, with_scratch};
use super::value::FieldValue;

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
        let Scratch { record, line } = scratch;
        record.fill(event, ctx);
        line.clear();
        let level = *event.metadata().level();
        let stamp = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let _ = write!(
            line,
            "{} {} ",
            stamp.get(11..23).unwrap_or(&stamp),
            self.level(level)
        );
        if let Some(id) = &record.request_id {
            let _ = write!(line, "{id} ");
        }
        if let Some(message) = &record.message {
            put_value(line, message);
        }
        for (name, value) in &record.fields {
            let _ = write!(line, " {name}=");
            put_value(line, value);
        }
        line.push(b'\n');
        if let Err(err) = self
            .make_writer
            .make_writer_for(event.metadata())
            .write_all(line)
        {
            eprintln!("ordertrail: a log line could not be written: {err}");
        }
    }

    fn level(&self, level: Level) -> String {
        let colour = match level {
            Level::ERROR => 31,
            Level::WARN => 33,
            Level::INFO => 32,
            _ => 2,
        };
        if self.ansi {
            format!("\x1b[{colour}m{:<5}\x1b[0m", level.as_str())
        } else {
            format!("{:<5}", level.as_str())
        }
    }
}

/// Writes a value with control characters escaped, so the line stays one line.
fn put_value(line: &mut Vec<u8>, value: &FieldValue) {
    let _ = match value {
        FieldValue::Str(s) => write!(line, "{}", s.escape_debug()),
        FieldValue::I64(v) => write!(line, "{v}"),
        FieldValue::U64(v) => write!(line, "{v}"),
        FieldValue::F64(v) => write!(line, "{v:.3}"),
        FieldValue::Bool(v) => write!(line, "{v}"),
    };
}

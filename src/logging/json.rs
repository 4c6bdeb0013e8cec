//! [`JsonLayer`]: writes each event as one JSON object on one line.
//!
//! ```json
//! {"timestamp":"2026-11-24T18:00:00.123456Z","level":"INFO","target":"ordertrail::correlation",
//!  "message":"request completed","service":"orders","pid":4242,"request_id":"0193…",
//!  "method":"POST","route":"/orders","path":"/orders","status":201,"latency_ms":3.2}
//! ```
//! (shown folded; a real line has no newline inside). Strings are escaped by `serde_json`, so
//! quotes, newlines, control bytes and any Unicode stay inside their string: whatever a client
//! sends, each line parses as exactly one object.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::record::FlatRecord;
use super::value::SpanFields;

/// A `tracing_subscriber` layer writing JSON lines to `W`.
#[derive(Debug)]
pub struct JsonLayer<W> {
    make_writer: W,
    service: Arc<str>,
    pid: u32,
}

impl<W> JsonLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// Writes to `make_writer`, naming `service` on lines that no span names otherwise.
    pub fn new(service: impl Into<Arc<str>>, make_writer: W) -> Self {
        Self {
            make_writer,
            service: service.into(),
            pid: std::process::id(),
        }
    }
}

/// Keeps a span's fields in its extensions, as typed values. Shared by every layer that
/// flattens spans; the first one to see the span stores them.
pub(crate) fn store_span_fields<S>(attrs: &Attributes<'_>, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut ext = span.extensions_mut();
    if ext.get_mut::<SpanFields>().is_none() {
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        ext.insert(fields);
    }
}

/// Applies `Span::record` calls to the stored fields.
pub(crate) fn update_span_fields<S>(id: &Id, values: &Record<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
        values.record(fields);
    }
}

thread_local! {
    /// Reused per thread: the record and the line being written.
    static SCRATCH: RefCell<(FlatRecord, Vec<u8>)> = RefCell::new(Default::default());
}

impl<S, W> Layer<S> for JsonLayer<W>
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
        // A writer that logs while we write would re-enter: it gets fresh scratch space.
        let written = SCRATCH.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.write_event(event, &ctx, &mut scratch),
            Err(_) => self.write_event(event, &ctx, &mut Default::default()),
        });
        if written.is_err() {
            self.write_event(event, &ctx, &mut Default::default());
        }
    }
}

impl<W> JsonLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn write_event<S>(
        &self,
        event: &Event<'_>,
        ctx: &Context<'_, S>,
        scratch: &mut (FlatRecord, Vec<u8>),
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let (record, line) = scratch;
        record.fill(event, ctx);
        line.clear();
        let meta = event.metadata();
        encode_line(
            line,
            record,
            meta.level().as_str(),
            meta.target(),
            &self.service,
            self.pid,
        );
        if let Err(err) = self.make_writer.make_writer_for(meta).write_all(line) {
            // Logging never panics and never logs its own failure through itself.
            eprintln!("ordertrail: a log line could not be written: {err}");
        }
    }
}

/// Appends one JSON object and a newline to `line`.
pub(crate) fn encode_line(
    line: &mut Vec<u8>,
    record: &FlatRecord,
    level: &str,
    target: &str,
    default_service: &str,
    pid: u32,
) {
    line.extend_from_slice(b"{\"timestamp\":\"");
    let _ = write!(
        line,
        "{}",
        humantime::format_rfc3339_micros(SystemTime::now())
    );
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level.as_bytes());
    line.extend_from_slice(b"\",\"target\":");
    put_json(line, target);
    line.extend_from_slice(b",\"message\":");
    match &record.message {
        Some(message) => put_json(line, message),
        None => line.extend_from_slice(b"\"\""),
    }
    line.extend_from_slice(b",\"service\":");
    put_json(line, record.service.as_deref().unwrap_or(default_service));
    let _ = write!(line, ",\"pid\":{pid}");
    if let Some(id) = &record.request_id {
        line.extend_from_slice(b",\"request_id\":");
        put_json(line, id.as_str());
    }
    if let Some(trace) = &record.trace {
        let _ = write!(
            line,
            ",\"trace_id\":\"{}\",\"span_id\":\"{}\"",
            trace.trace_id(),
            trace.span_id()
        );
    }
    for (name, value) in &record.fields {
        line.push(b',');
        put_json(line, name);
        line.push(b':');
        put_json(line, value);
    }
    line.extend_from_slice(b"}\n");
}

/// Serializes one value; serialization of strings and numbers into a `Vec` cannot fail.
fn put_json<T: serde::Serialize + ?Sized>(line: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(&mut *line, value);
}

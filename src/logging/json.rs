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

use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::record::{FlatRecord, Scratch, with_scratch};
use super::value::SpanFields;

/// A `tracing_subscriber` layer writing JSON lines to `W`.
#[derive(Debug)]
pub struct JsonLayer<W> {
    make_writer: W,
    service: Arc<str>,
    /// `,"pid":N` and, for a worker, `,"worker":N`: written once here, copied on every line.
    process: Box<[u8]>,
    /// Whether `worker` is a top-level key (then a field of that name is not repeated).
    is_worker: bool,
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
            process: process_fields(std::process::id(), None),
            is_worker: false,
        }
    }

    /// Writes `"worker":index` after `pid` on every line (a worker of `serve --workers N`).
    pub fn worker(mut self, index: Option<u32>) -> Self {
        self.process = process_fields(std::process::id(), index);
        self.is_worker = index.is_some();
        self
    }
}

/// The `pid` field and, when set, the `worker` field, each preceded by a comma.
fn process_fields(pid: u32, worker: Option<u32>) -> Box<[u8]> {
    let mut fields = format!(",\"pid\":{pid}");
    if let Some(index) = worker {
        fields.push_str(&format!(",\"worker\":{index}"));
    }
    fields.into_bytes().into_boxed_slice()
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
        with_scratch(|scratch| self.write_event(event, &ctx, scratch));
    }
}

impl<W> JsonLayer<W>
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
        let meta = event.metadata();
        encode_line(
            line,
            record,
            meta.level().as_str(),
            meta.target(),
            &self.service,
            &self.process,
            self.is_worker,
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
    process: &[u8],
    is_worker: bool,
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
    line.extend_from_slice(process);
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
        if is_worker && *name == "worker" {
            continue; // the top-level `worker` wins, so no key appears twice
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(process: &[u8]) -> String {
        encode(&FlatRecord::default(), process, false)
    }

    fn encode(record: &FlatRecord, process: &[u8], is_worker: bool) -> String {
        let mut line = Vec::new();
        encode_line(
            &mut line, record, "INFO", "t", "payments", process, is_worker,
        );
        String::from_utf8(line).expect("UTF-8")
    }

    #[test]
    fn a_worker_field_never_repeats_the_top_level_key() {
        let record = FlatRecord {
            fields: vec![("worker", crate::logging::FieldValue::U64(9))],
            ..FlatRecord::default()
        };
        let text = encode(&record, &process_fields(1, Some(2)), true);
        assert_eq!(text.matches("\"worker\"").count(), 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
        assert_eq!(value["worker"], 2);
        // Outside a worker (the master's lifecycle lines), `worker` is an ordinary field.
        let master: serde_json::Value =
            serde_json::from_str(&encode(&record, &process_fields(1, None), false)).expect("JSON");
        assert_eq!(master["worker"], 9);
    }

    #[test]
    fn a_worker_line_carries_its_index_right_after_pid() {
        let text = line(&process_fields(4242, Some(3)));
        let value: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
        assert_eq!(
            (value["pid"].as_u64(), value["worker"].as_u64()),
            (Some(4242), Some(3))
        );
        assert!(text.contains(r#""pid":4242,"worker":3"#), "{text}");
    }

    #[test]
    fn a_single_process_line_has_no_worker() {
        let value: serde_json::Value =
            serde_json::from_str(&line(&process_fields(7, None))).expect("one JSON object");
        assert_eq!(value["pid"], 7);
        assert!(value.get("worker").is_none());
    }
}

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
    /// `,"pid":N` and the configured line fields, rendered once and copied on every line.
    head: LineHead,
}

/// What every line of one process carries after `service`: `pid` and any configured fields.
#[derive(Debug, Clone)]
pub(crate) struct LineHead {
    /// `,"pid":N,"key":value…`, ready to copy.
    bytes: Box<[u8]>,
    /// The configured keys: a span or event field of the same name is not repeated.
    keys: Box<[String]>,
}

impl LineHead {
    /// `pid` followed by `fields`, in order.
    pub(crate) fn new(pid: u32, fields: &[(String, serde_json::Value)]) -> Self {
        let mut bytes = format!(",\"pid\":{pid}").into_bytes();
        for (key, value) in fields {
            bytes.push(b',');
            put_json(&mut bytes, key);
            bytes.push(b':');
            put_json(&mut bytes, value);
        }
        let keys = fields.iter().map(|(k, _)| k.clone()).collect();
        Self {
            bytes: bytes.into_boxed_slice(),
            keys,
        }
    }

    fn is_top_level(&self, name: &str) -> bool {
        self.keys.iter().any(|k| k == name)
    }
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
            head: LineHead::new(std::process::id(), &[]),
        }
    }

    /// Writes these fields at the top level of every line, right after `pid` (a worker's
    /// index, a region…). A span or event field of the same name is then left out, so no key
    /// appears twice.
    #[must_use]
    pub fn line_fields(mut self, fields: &[(String, serde_json::Value)]) -> Self {
        self.head = LineHead::new(std::process::id(), fields);
        self
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
            &self.head,
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
    head: &LineHead,
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
    line.extend_from_slice(&head.bytes);
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
        if head.is_top_level(name) {
            continue; // the top-level field wins, so no key appears twice
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
    use serde_json::{Value, json};

    fn encode(record: &FlatRecord, head: &LineHead) -> Value {
        let mut line = Vec::new();
        encode_line(&mut line, record, "INFO", "t", "payments", head);
        let text = String::from_utf8(line).expect("UTF-8");
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "{text}");
        serde_json::from_str(&text).expect("one JSON object")
    }

    fn worker(index: u32) -> Vec<(String, Value)> {
        vec![("worker".to_owned(), json!(index))]
    }

    #[test]
    fn a_line_field_never_repeats_as_a_span_or_event_field() {
        let record = FlatRecord {
            fields: vec![("worker", crate::logging::FieldValue::U64(9))],
            ..FlatRecord::default()
        };
        let mut line = Vec::new();
        encode_line(&mut line, &record, "INFO", "t", "s", &LineHead::new(1, &worker(2)));
        let text = String::from_utf8(line).expect("UTF-8");
        assert_eq!(text.matches("\"worker\"").count(), 1, "{text}");
        assert_eq!(encode(&record, &LineHead::new(1, &worker(2)))["worker"], 2);
        // Without the line field (a master's lifecycle lines), `worker` is an ordinary field.
        assert_eq!(encode(&record, &LineHead::new(1, &[]))["worker"], 9);
    }

    #[test]
    fn line_fields_come_right_after_pid_in_order() {
        let fields = vec![
            ("worker".to_owned(), json!(3)),
            ("region".to_owned(), json!("eu-1")),
        ];
        let mut line = Vec::new();
        encode_line(&mut line, &FlatRecord::default(), "INFO", "t", "s", &LineHead::new(4242, &fields));
        let text = String::from_utf8(line).expect("UTF-8");
        assert!(text.contains(r#""pid":4242,"worker":3,"region":"eu-1""#), "{text}");
    }

    #[test]
    fn a_line_without_line_fields_has_only_pid() {
        let value = encode(&FlatRecord::default(), &LineHead::new(7, &[]));
        assert_eq!(value["pid"], 7);
        assert!(value.get("worker").is_none());
        assert_eq!(value["service"], "payments");
        assert_eq!(value["message"], "");
    }
}

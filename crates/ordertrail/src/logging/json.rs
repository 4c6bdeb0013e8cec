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

use super::json_text::{put_str, put_value};
use super::record::kept_by_marks;
use super::record::{FlatRecord, Scratch, with_scratch};
use super::timestamp::push_rfc3339_micros;
use super::value::SpanFields;
use crate::recorder::{KeptEvent, Marker, ReplaySink};

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

    /// The flight recorder's way into this output: writes kept events as this layer writes
    /// live ones, with their own timestamps and the replay marker.
    pub fn replay_sink(&self) -> JsonReplay<W>
    where
        W: Clone,
    {
        JsonReplay {
            make_writer: self.make_writer.clone(),
            service: Arc::clone(&self.service),
            head: self.head.clone(),
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
/// flattens spans; the first one to see the span stores them (the opening [`EventMark`] did,
/// when the outputs sit between the marks).
///
/// [`EventMark`]: super::EventMark
pub(crate) fn store_span_fields<S>(attrs: &Attributes<'_>, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if !kept_by_marks(id) {
        keep_span_fields(attrs, id, ctx);
    }
}

/// Stores `attrs` on the span `id` unless it holds its fields already.
pub(crate) fn keep_span_fields<S>(attrs: &Attributes<'_>, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    let mut ext = span.extensions_mut();
    if ext.get_mut::<SpanFields>().is_none() {
        let mut fields = SpanFields(Vec::with_capacity(attrs.fields().len()));
        attrs.record(&mut fields);
        ext.insert(fields);
    }
}

/// Applies `Span::record` calls to the stored fields, once per call: not again in each output
/// when the opening [`EventMark`] applied them.
///
/// [`EventMark`]: super::EventMark
pub(crate) fn update_span_fields<S>(id: &Id, values: &Record<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if !kept_by_marks(id) {
        apply_span_record(id, values, ctx);
    }
}

/// Applies `values` to the stored fields of the span `id`.
pub(crate) fn apply_span_record<S>(id: &Id, values: &Record<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else { return };
    if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
        values.record(fields);
        #[cfg(test)]
        super::record::tests::RECORDS_APPLIED.with(|n| n.set(n.get() + 1));
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
        let Scratch { flat, line } = scratch;
        let record = flat.of(event, ctx);
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

/// A [`JsonLayer`]'s output for the flight recorder ([`JsonLayer::replay_sink`]).
#[derive(Debug)]
pub struct JsonReplay<W> {
    make_writer: W,
    service: Arc<str>,
    head: LineHead,
}

impl<W> ReplaySink for JsonReplay<W>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    fn replay(&self, event: &KeptEvent, marker: &Marker) {
        with_scratch(|scratch| {
            let line = &mut scratch.line;
            line.clear();
            let kept = Kept {
                level: event.level().as_str(),
                target: event.target(),
                time: event.time(),
                marker: Some(marker),
            };
            encode(line, &event.record(), &self.service, &self.head, &kept);
            if let Err(err) = self.make_writer.make_writer().write_all(line) {
                eprintln!("ordertrail: a replayed log line could not be written: {err}");
            }
        });
    }
}

/// Keys the replay marker writes; an event field of the same name is left out of a replayed
/// line, so no key appears twice.
const MARKER_KEYS: [&str; 3] = ["replayed", "replay_trigger", "replay_dropped"];

/// What a line says besides the record: level, target, time, and the replay marker.
struct Kept<'a> {
    level: &'a str,
    target: &'a str,
    time: SystemTime,
    marker: Option<&'a Marker>,
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
    let live = Kept {
        level,
        target,
        time: record.time_or_now(),
        marker: None,
    };
    encode(line, record, default_service, head, &live);
}

fn encode(
    line: &mut Vec<u8>,
    record: &FlatRecord,
    default_service: &str,
    head: &LineHead,
    kept: &Kept<'_>,
) {
    let Kept {
        level,
        target,
        time,
        marker,
    } = *kept;
    line.extend_from_slice(b"{\"timestamp\":\"");
    push_rfc3339_micros(line, time);
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level.as_bytes());
    line.extend_from_slice(b"\",\"target\":");
    put_str(line, target);
    line.extend_from_slice(b",\"message\":");
    match &record.message {
        Some(message) => put_value(line, message),
        None => line.extend_from_slice(b"\"\""),
    }
    line.extend_from_slice(b",\"service\":");
    put_str(line, record.service.as_deref().unwrap_or(default_service));
    line.extend_from_slice(&head.bytes);
    if let Some(id) = &record.request_id {
        line.extend_from_slice(b",\"request_id\":");
        put_str(line, id.as_str());
    }
    if let Some(trace) = &record.trace {
        line.extend_from_slice(b",\"trace_id\":\"");
        crate::hex::push(line, &trace.trace_id().to_bytes());
        line.extend_from_slice(b"\",\"span_id\":\"");
        crate::hex::push(line, &trace.span_id().to_bytes());
        line.push(b'"');
    }
    for (name, value) in &record.fields {
        if head.is_top_level(name) || (marker.is_some() && MARKER_KEYS.contains(name)) {
            continue; // the top-level field wins, so no key appears twice
        }
        line.push(b',');
        put_str(line, name);
        line.push(b':');
        put_value(line, value);
    }
    if let Some(marker) = marker {
        put_marker(line, marker);
    }
    line.extend_from_slice(b"}\n");
}

/// `,"replayed":true,"replay_trigger":"…"` and, when events were dropped, `"replay_dropped"`.
fn put_marker(line: &mut Vec<u8>, marker: &Marker) {
    line.extend_from_slice(b",\"replayed\":true,\"replay_trigger\":");
    put_str(line, marker.trigger.as_str());
    if marker.dropped > 0 {
        let _ = write!(line, ",\"replay_dropped\":{}", marker.dropped);
    }
}

/// Serializes one value; serialization of strings and numbers into a `Vec` cannot fail.
fn put_json<T: serde::Serialize + ?Sized>(line: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(&mut *line, value);
}

#[cfg(test)]
pub(super) mod tests {
    //! Also the capture the other log layers' tests share: [`Capture`].

    use std::fmt;
    use std::sync::{Mutex, PoisonError};

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
    use serde_json::{Value, json};
    use tracing::info;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::correlation::{self, RequestId};
    use crate::logging::RESERVED;

    /// A `MakeWriter` over a shared buffer: everything a layer wrote.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Capture {
        /// What was written so far.
        pub(crate) fn text(&self) -> String {
            let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8(bytes.clone()).expect("UTF-8")
        }

        /// The lines written so far, each without its newline.
        pub(crate) fn lines(&self) -> Vec<String> {
            let text = self.text();
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "unterminated: {text:?}"
            );
            text.lines().map(str::to_owned).collect()
        }
    }

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Self;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// The keys of one JSON object, in the order written.
    struct Keys(Vec<String>);

    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct KeysVisitor;
            impl<'de> Visitor<'de> for KeysVisitor {
                type Value = Keys;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(KeysVisitor)
        }
    }

    /// One line as exactly one JSON object with unique keys: the object and its keys in order.
    fn parse_line(line: &str) -> (Value, Vec<String>) {
        let Keys(keys) = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "a key repeats: {line}");
        (serde_json::from_str(line).expect("checked above"), keys)
    }

    /// Runs `f` with a JSON layer writing to a capture; every line it wrote, parsed.
    fn json_lines(f: impl FnOnce()) -> Vec<Value> {
        let capture = Capture::default();
        let layer = JsonLayer::new("orders", capture.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        capture.lines().iter().map(|l| parse_line(l).0).collect()
    }

    /// The keys of a line after the top-level ones, in order.
    fn field_keys(line: &str) -> Vec<String> {
        let (_, keys) = parse_line(line);
        keys.into_iter()
            .filter(|k| !RESERVED.contains(&k.as_str()))
            .collect()
    }

    const HOSTILE: &str =
        "say \"hi\"\nFAKE {\"level\":\"ERROR\"}\r\t\u{0}\u{7}\u{1b}[31m\\ \u{2028} caf\u{e9}";

    #[test]
    fn every_line_is_one_json_object_whatever_the_strings_hold() {
        let lines = json_lines(|| {
            let span = tracing::info_span!("request", path = HOSTILE);
            let _entered = span.enter();
            info!(note = HOSTILE, "{HOSTILE}");
            info!(debugged = ?HOSTILE, "second");
        });
        let [first, second] = &lines[..] else {
            panic!("expected two lines, got {lines:?}");
        };
        assert_eq!(first["message"], HOSTILE);
        assert_eq!(first["note"], HOSTILE);
        assert_eq!(first["path"], HOSTILE);
        assert_eq!(second["debugged"], format!("{HOSTILE:?}"));
        assert_eq!(
            (first["level"].as_str(), first["service"].as_str()),
            (Some("INFO"), Some("orders"))
        );
    }

    #[tokio::test]
    async fn request_id_is_top_level_inside_a_request_scope_and_absent_outside() {
        let capture = Capture::default();
        let layer = JsonLayer::new("orders", capture.clone());
        let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        let id: RequestId = "order-42".parse().unwrap();
        correlation::scope(id, async {
            let span = tracing::info_span!("handler", request_id = "not-this-one");
            let _entered = span.enter();
            info!("inside");
        })
        .await;
        info!("outside");
        let lines: Vec<_> = capture.lines().iter().map(|l| parse_line(l).0).collect();
        assert_eq!(lines[0]["request_id"], "order-42");
        assert!(lines[1].get("request_id").is_none(), "{}", lines[1]);
    }

    #[test]
    fn span_fields_are_flattened_root_to_leaf_and_the_event_wins() {
        let capture = Capture::default();
        let layer = JsonLayer::new("orders", capture.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let outer = tracing::info_span!("outer", tenant = "acme", shared = "outer", depth = 1);
            let inner = tracing::info_span!(parent: &outer, "inner", order = 7, shared = "inner", depth = 2);
            inner.in_scope(|| info!(shared = "event", step = "pay", "paid"));
            inner.in_scope(|| info!("no clash"));
        });
        let lines = capture.lines();
        let order = ["tenant", "shared", "depth", "order", "step"];
        assert_eq!(field_keys(&lines[0]), order);
        let (first, _) = parse_line(&lines[0]);
        let (second, _) = parse_line(&lines[1]);
        assert_eq!(
            (&first["shared"], &first["depth"]),
            (&json!("event"), &json!(2))
        );
        assert_eq!(
            second["shared"], "inner",
            "the child span wins over its parent"
        );
    }

    #[test]
    fn a_card_number_in_a_field_value_is_masked() {
        let lines = json_lines(|| {
            let span = tracing::info_span!("checkout", payer = "card 4242 4242 4242 4242");
            let _entered = span.enter();
            info!(
                note = "paid with 4242424242424242",
                "charged 4000-0000-0000-0002"
            );
        });
        for (key, kept) in [
            ("payer", "card "),
            ("note", "paid with "),
            ("message", "charged "),
        ] {
            let value = lines[0][key].as_str().unwrap_or_else(|| panic!("no {key}"));
            assert!(value.starts_with(kept), "{key}: {value}");
            let digits = value.chars().filter(char::is_ascii_digit).count();
            assert!(digits < 13, "{key} is not masked: {value}");
        }
    }

    #[test]
    fn a_users_dotted_fields_keep_their_names_and_span_attributes_stay_out() {
        let lines = json_lines(|| {
            let span = tracing::info_span!(
                "request",
                otel.kind = "server",
                http.request.method = "GET",
                url.path = "/orders/7",
                server.port = 8080,
                user_agent.original = "curl/8",
                order.id = 7,
                tenant.name = "acme",
            );
            let _entered = span.enter();
            info!(cart.items = 3, "loaded");
        });
        let line = &lines[0];
        assert_eq!(
            (&line["order.id"], &line["tenant.name"]),
            (&json!(7), &json!("acme"))
        );
        assert_eq!(
            (&line["method"], &line["path"]),
            (&json!("GET"), &json!("/orders/7"))
        );
        assert_eq!(line["cart.items"], 3);
        for hidden in [
            "otel.kind",
            "http.request.method",
            "url.path",
            "server.port",
            "user_agent.original",
        ] {
            assert!(line.get(hidden).is_none(), "{hidden} in {line}");
        }
    }

    /// A request through the real layer: the handler's line and the completion line carry the
    /// id and the short request fields, and no attribute of the library's own span.
    #[cfg(feature = "axum")]
    #[tokio::test]
    async fn a_request_through_the_correlation_layer_logs_its_id_and_short_fields() {
        use tower::{Layer as _, ServiceExt as _};

        let capture = Capture::default();
        let layer = JsonLayer::new("orders", capture.clone());
        let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        let handler = tower::service_fn(|_req: http::Request<()>| async {
            info!(order.id = 7, "placing order");
            let created = http::Response::builder().status(201).body(String::new());
            Ok::<_, std::convert::Infallible>(created.unwrap())
        });
        let service = correlation::CorrelationLayer::new()
            .service("orders-api")
            .layer(handler);
        let req = http::Request::post("/orders")
            .header("x-request-id", "order-42")
            .header("user-agent", "curl/8");
        let Ok(_res) = service.oneshot(req.body(()).unwrap()).await;
        let lines: Vec<_> = capture.lines().iter().map(|l| parse_line(l).0).collect();
        let [placing, completed] = &lines[..] else {
            panic!("expected two lines, got {lines:?}");
        };
        assert_eq!(
            (&placing["message"], &placing["order.id"]),
            (&json!("placing order"), &json!(7))
        );
        assert_eq!(
            (&completed["message"], &completed["status"]),
            (&json!("request completed"), &json!(201))
        );
        for line in [placing, completed] {
            assert_eq!(
                (&line["request_id"], &line["service"]),
                (&json!("order-42"), &json!("orders-api"))
            );
            assert_eq!(
                (&line["method"], &line["path"]),
                (&json!("POST"), &json!("/orders"))
            );
            let dotted: Vec<_> = line
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.contains('.'))
                .collect();
            assert!(
                dotted.iter().all(|k| *k == "order.id"),
                "{dotted:?} in {line}"
            );
        }
    }

    fn encode(record: &FlatRecord, head: &LineHead) -> Value {
        let mut line = Vec::new();
        encode_line(&mut line, record, "INFO", "t", "payments", head);
        let text = String::from_utf8(line).expect("UTF-8");
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "{text}"
        );
        serde_json::from_str(&text).expect("one JSON object")
    }

    fn worker(index: u32) -> Vec<(String, Value)> {
        vec![("worker".to_owned(), json!(index))]
    }

    #[test]
    fn a_line_shows_the_time_its_event_was_flattened_at() {
        let record = FlatRecord {
            time: Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_500)),
            ..FlatRecord::default()
        };
        let line = encode(&record, &LineHead::new(7, &[]));
        assert_eq!(line["timestamp"], "1970-01-01T00:00:01.500000Z");
    }

    #[test]
    fn a_line_field_never_repeats_as_a_span_or_event_field() {
        let record = FlatRecord {
            fields: vec![("worker", crate::logging::FieldValue::U64(9))],
            ..FlatRecord::default()
        };
        let mut line = Vec::new();
        encode_line(
            &mut line,
            &record,
            "INFO",
            "t",
            "s",
            &LineHead::new(1, &worker(2)),
        );
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
        encode_line(
            &mut line,
            &FlatRecord::default(),
            "INFO",
            "t",
            "s",
            &LineHead::new(4242, &fields),
        );
        let text = String::from_utf8(line).expect("UTF-8");
        assert!(
            text.contains(r#""pid":4242,"worker":3,"region":"eu-1""#),
            "{text}"
        );
    }

    #[test]
    fn a_line_without_line_fields_has_only_pid() {
        let value = encode(&FlatRecord::default(), &LineHead::new(7, &[]));
        assert_eq!(value["pid"], 7);
        assert!(value.get("worker").is_none());
        assert_eq!(value["service"], "payments");
        assert_eq!(value["message"], "");
    }

    #[test]
    fn a_replayed_line_keeps_its_time_and_fields_and_carries_the_marker() {
        use crate::recorder::{Marker, ReplaySink as _, Trigger};
        let kept = crate::recorder::kept_tests::kept_events(|| {
            let span = tracing::info_span!("charge", order_id = "o-1");
            span.in_scope(|| tracing::debug!(amount = 12, replayed = "not the marker", "charging"));
        });
        std::thread::sleep(std::time::Duration::from_millis(5));
        let capture = Capture::default();
        let sink = JsonLayer::new("payments", capture.clone()).replay_sink();
        let marker = Marker {
            trigger: Trigger::ServerError,
            dropped: 2,
        };
        sink.replay(&kept[0], &marker);
        let lines = capture.lines();
        let (line, _) = parse_line(&lines[0]);
        assert_eq!(
            (
                &line["level"],
                &line["message"],
                &line["order_id"],
                &line["amount"]
            ),
            (
                &json!("DEBUG"),
                &json!("charging"),
                &json!("o-1"),
                &json!(12)
            )
        );
        assert_eq!(
            (
                &line["replayed"],
                &line["replay_trigger"],
                &line["replay_dropped"]
            ),
            (&json!(true), &json!("server_error"), &json!(2))
        );
        let written = humantime::format_rfc3339_micros(kept[0].time()).to_string();
        assert_eq!(
            line["timestamp"], written,
            "the event's own time, not the replay's"
        );
    }
}

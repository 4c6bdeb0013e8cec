//! Typed field values, and the visitors that collect them from spans and events.

use serde::ser::{Serialize, Serializer};
pub use smol_str::SmolStr;
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};

/// One field value as recorded. Text up to 23 bytes is held in place and longer text behind a
/// reference count ([`SmolStr`]), so flattening a span's fields into every event of the span
/// costs no allocation and, for the short values most fields hold (a method, a route, a
/// status text), not even a reference count.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// Text, also the rendering of `Debug` and `Display` values.
    Str(SmolStr),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A floating-point number (written as `null` when not finite).
    F64(f64),
    /// A boolean.
    Bool(bool),
}

impl FieldValue {
    /// The text, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Str(v) => s.serialize_str(v),
            Self::I64(v) => s.serialize_i64(*v),
            Self::U64(v) => s.serialize_u64(*v),
            Self::F64(v) => s.serialize_f64(*v),
            Self::Bool(v) => s.serialize_bool(*v),
        }
    }
}

/// A list of named values, in recording order; a name recorded again replaces its value.
pub type Fields = Vec<(&'static str, FieldValue)>;

/// Puts `value` under `name`, replacing an earlier value of the same name in place.
pub(crate) fn upsert(fields: &mut Fields, name: &'static str, value: FieldValue) {
    match fields.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => fields.push((name, value)),
    }
}

/// The fields of one span, kept in the span's extensions by the logging layers.
#[derive(Debug, Default)]
pub struct SpanFields(pub Fields);

impl SpanFields {
    /// Keeps `value` under the field's log name; a field that stays out of log lines is
    /// dropped before its value is even rendered.
    fn put(&mut self, field: &Field, value: impl FnOnce() -> FieldValue) {
        if let Some(name) = log_name(field.name()) {
            upsert(&mut self.0, name, value());
        }
    }
}

/// OpenTelemetry semantic-convention attributes that the library's own request span
/// (`correlation::DefaultMakeSpan`) and client span (`outgoing::Propagate`) set for tracing
/// backends, and that log lines leave out. `request.id` is on every line already, as the
/// top-level `request_id`.
const SPAN_ONLY: [&str; 8] = [
    "url.scheme",
    "server.address",
    "server.port",
    "client.address",
    "user_agent.original",
    "network.protocol.version",
    "error.type",
    "request.id",
];

/// The name a span field has in log lines, or `None` when it stays out of them.
///
/// The semantic-convention attributes of the library's own spans are for tracing backends. A
/// few are what a log reader wants too, under their short names; the rest ([`SPAN_ONLY`] and
/// every `otel.*` field) stay out of log lines, which keeps lines short while spans keep every
/// attribute. Any other field keeps its name, dotted or not (`order.id`, `tenant.name`).
pub(crate) fn log_name(name: &'static str) -> Option<&'static str> {
    match name {
        "http.request.method" => Some("method"),
        "http.route" => Some("route"),
        "url.path" => Some("path"),
        "url.full" => Some("url"),
        "http.response.status_code" => Some("status"),
        otel if otel.starts_with("otel.") => None,
        span_only if SPAN_ONLY.contains(&span_only) => None,
        own => Some(own),
    }
}

impl Visit for SpanFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, || text(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, || FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, || FieldValue::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, || FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, || FieldValue::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, || display_chain(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, || debug_text(value));
    }
}

/// The fields of one event: its `message` apart, the rest in order.
#[derive(Debug, Default)]
pub(crate) struct EventFields<'a> {
    pub(crate) message: Option<FieldValue>,
    pub(crate) fields: Option<&'a mut Fields>,
}

impl EventFields<'_> {
    fn put(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
            self.message = Some(value);
        } else if let Some(fields) = self.fields.as_deref_mut() {
            upsert(fields, field.name(), value);
        }
    }
}

impl Visit for EventFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, text(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, FieldValue::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, FieldValue::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, display_chain(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, debug_text(value));
    }
}

/// An error and its sources, `outer: inner: root`, as one string.
fn display_chain(err: &(dyn std::error::Error + 'static)) -> FieldValue {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    self::text(&text)
}

/// The most [`debug_text`]'s buffer keeps between values: one huge value does not stay.
const RENDERED_KEPT: usize = 4096;

thread_local! {
    /// Where [`debug_text`] renders a value before it is masked and kept.
    static RENDERED: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A value recorded with `?` or `%` (an event's message among them), rendered, then masked as
/// [`text`] masks. It is rendered into a buffer kept per thread, not a new `String` per value;
/// a value rendered while another one is (its `Debug` impl renders a field value itself) gets
/// a `String` of its own.
fn debug_text(value: &dyn fmt::Debug) -> FieldValue {
    RENDERED.with(|rendered| match rendered.try_borrow_mut() {
        Ok(mut rendered) => {
            rendered.clear();
            let _ = write!(rendered, "{value:?}");
            let kept = text(&rendered);
            if rendered.capacity() > RENDERED_KEPT {
                *rendered = String::new();
            }
            kept
        }
        Err(_) => text(&format!("{value:?}")),
    })
}

/// A string value, with card-like numbers masked (see [`crate::redact`]).
fn text(value: &str) -> FieldValue {
    FieldValue::Str(SmolStr::new(crate::redact::redact(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose `Debug` renders another value the same way while it is rendered.
    struct Nested;

    impl fmt::Debug for Nested {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let inner = debug_text(&"inner");
            write!(f, "outer({inner:?})")
        }
    }

    #[test]
    fn a_value_rendered_inside_another_and_a_huge_one_are_both_kept_whole() {
        let FieldValue::Str(nested) = debug_text(&Nested) else {
            panic!("a string");
        };
        assert_eq!(nested, r#"outer(Str("\"inner\""))"#);
        let huge = "x".repeat(3 * RENDERED_KEPT);
        let FieldValue::Str(kept) = debug_text(&format_args!("{huge}")) else {
            panic!("a string");
        };
        assert!(kept == huge, "the huge value was cut: {} bytes", kept.len());
        RENDERED.with(|r| assert!(r.borrow().capacity() <= RENDERED_KEPT));
        let FieldValue::Str(after) = debug_text(&4.5) else {
            panic!("a string");
        };
        assert_eq!(after, "4.5");
    }

    #[test]
    fn the_librarys_span_attributes_stay_out_of_log_lines() {
        let span_only = [
            "otel.name",
            "otel.kind",
            "otel.status_code",
            "otel.anything_else",
            "url.scheme",
            "server.address",
            "server.port",
            "client.address",
            "user_agent.original",
            "network.protocol.version",
            "error.type",
            "request.id",
        ];
        for name in span_only {
            assert_eq!(log_name(name), None, "{name}");
        }
    }

    #[test]
    fn the_attributes_a_reader_wants_get_short_names() {
        let short = [
            ("http.request.method", "method"),
            ("http.route", "route"),
            ("url.path", "path"),
            ("url.full", "url"),
            ("http.response.status_code", "status"),
        ];
        for (name, short) in short {
            assert_eq!(log_name(name), Some(short), "{name}");
        }
    }

    #[test]
    fn a_users_own_field_keeps_its_name_dotted_or_not() {
        for name in [
            "order.id",
            "tenant.name",
            "cart.items.count",
            "order_id",
            "service",
            "otel",
        ] {
            assert_eq!(log_name(name), Some(name), "{name}");
        }
    }

    #[test]
    fn a_card_number_in_a_string_value_is_masked() {
        let FieldValue::Str(masked) = text("paid with 4242 4242 4242 4242, thanks") else {
            panic!("text makes a string");
        };
        assert!(
            masked.starts_with("paid with ") && masked.ends_with(", thanks"),
            "{masked}"
        );
        assert!(!masked.contains("4242 4242 4242 4242"), "{masked}");
        assert!(
            masked.chars().filter(char::is_ascii_digit).count() < 13,
            "{masked}"
        );
    }
}

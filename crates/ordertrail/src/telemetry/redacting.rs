//! [`redact_span`]: the redaction policy on the span export path.
//!
//! Log lines are redacted field by field as they are written, but the OpenTelemetry layer
//! hands raw values to the SDK: a request span holds the path, the `Host` and `User-Agent`
//! headers and the request id exactly as the client sent them, and a linked caller context
//! holds its `tracestate`. Every string a span will export goes through
//! [`crate::redact::redact`] before the span is encoded: the span name, every
//! attribute (integers too: a card sent as a number), event names and attributes, link
//! attributes, the error description, and the `tracestate` of the span and of its links.
//!
//! It runs once per exported span, when the span ends (`wire::SpanBatch`), before its bytes
//! are written: nothing unredacted reaches the batch.
//!
//! A `tracestate` entry cannot hold the mask (`[card ••••4242]` is not a valid value), so an
//! entry holding a secret is dropped; the others are kept.
//!
//! Attribute keys are not rewritten: they come from field names in the code, not from input.

use std::borrow::Cow;

use opentelemetry::trace::{Link, SpanContext, Status, TraceState};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::redact::redact;

/// Rewrites every exported string of `span` through the process's redaction policy (see the
/// module docs for what is covered). Strings without a secret are left as they are, unmoved.
pub fn redact_span(span: &mut SpanData) {
    redact_cow(&mut span.name);
    redact_attributes(&mut span.attributes);
    for event in &mut span.events.events {
        redact_cow(&mut event.name);
        redact_attributes(&mut event.attributes);
    }
    span.links.links.iter_mut().for_each(redact_link);
    if let Status::Error { description } = &mut span.status {
        redact_cow(description);
    }
    redact_context(&mut span.span_context);
}

fn redact_link(link: &mut Link) {
    redact_attributes(&mut link.attributes);
    redact_context(&mut link.span_context);
}

fn redact_cow(text: &mut Cow<'static, str>) {
    if let Cow::Owned(masked) = redact(text) {
        *text = Cow::Owned(masked);
    }
}

fn redact_attributes(attributes: &mut [KeyValue]) {
    for kv in attributes {
        redact_value(&mut kv.value);
    }
}

fn redact_value(value: &mut Value) {
    match value {
        Value::String(text) => redact_string(text),
        Value::Array(Array::String(texts)) => texts.iter_mut().for_each(redact_string),
        Value::I64(n) => {
            if let Some(masked) = redact_number(*n) {
                *value = Value::String(masked.into());
            }
        }
        Value::Array(Array::I64(numbers))
            if numbers.iter().any(|n| redact_number(*n).is_some()) =>
        {
            let texts = numbers.iter().map(|n| redact(&n.to_string()).into_owned());
            *value = Value::Array(Array::String(texts.map(StringValue::from).collect()));
        }
        _ => {}
    }
}

fn redact_string(text: &mut StringValue) {
    if let Cow::Owned(masked) = redact(text.as_str()) {
        *text = masked.into();
    }
}

/// The masked text of `n` when its digits hold a secret; numbers under 13 digits never do.
fn redact_number(n: i64) -> Option<String> {
    if n.unsigned_abs() < 1_000_000_000_000 {
        return None;
    }
    match redact(&n.to_string()) {
        Cow::Owned(masked) => Some(masked),
        Cow::Borrowed(_) => None,
    }
}

/// Drops the `tracestate` entries of `cx` that hold a secret.
fn redact_context(cx: &mut SpanContext) {
    let header = cx.trace_state().header();
    if matches!(redact(&header), Cow::Borrowed(_)) {
        return;
    }
    let kept: Vec<&str> = header
        .split(',')
        .filter(|entry| matches!(redact(entry), Cow::Borrowed(_)))
        .collect();
    let state = kept.join(",").parse().unwrap_or(TraceState::NONE);
    *cx = SpanContext::new(
        cx.trace_id(),
        cx.span_id(),
        cx.trace_flags(),
        cx.is_remote(),
        state,
    );
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{Event, SpanId, SpanKind, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    const CARD: &str = "4242.4242.4242.4242";

    fn context(state: &str) -> SpanContext {
        let id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        let span = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        let state: TraceState = state.parse().unwrap();
        SpanContext::new(id, span, TraceFlags::SAMPLED, true, state)
    }

    /// A span with `CARD` in every place a span exports a string.
    fn span_with_cards() -> SpanData {
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            format!("paid {CARD}"),
            SystemTime::now(),
            vec![KeyValue::new("card", CARD)],
            0,
        ));
        let mut links = SpanLinks::default();
        let link = Link::new(
            context("vendor=4242_4242_4242_4242,ok=1"),
            vec![KeyValue::new("l", CARD)],
            0,
        );
        links.links.push(link);
        SpanData {
            span_context: context("acme=4242-4242-4242-4242"),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: format!("GET /orders/{CARD}").into(),
            start_time: SystemTime::now(),
            end_time: SystemTime::now(),
            attributes: vec![
                KeyValue::new("url.path", format!("/orders/{CARD}")),
                KeyValue::new("number", 4_242_424_242_424_242_i64),
                KeyValue::new("list", Value::Array(Array::String(vec![CARD.into()]))),
                KeyValue::new("count", 3_i64),
            ],
            dropped_attributes_count: 0,
            events,
            links,
            status: Status::error(format!("declined {CARD}")),
            instrumentation_scope: InstrumentationScope::builder("t").build(),
        }
    }

    #[test]
    fn every_exported_string_is_redacted() {
        let mut span = span_with_cards();
        redact_span(&mut span);
        let text = format!("{span:?}");
        assert!(
            !crate::card::contains_card(&text),
            "{}",
            crate::card::mask_cards(&text)
        );
        assert_eq!(span.name, "GET /orders/[card ••••4242]");
        assert_eq!(span.attributes[1].value, Value::from("[card ••••4242]"));
        assert_eq!(span.attributes[3].value, Value::I64(3));
        assert_eq!(span.span_context.trace_state().header(), "");
        let link = &span.links.links[0];
        assert_eq!(link.span_context.trace_state().header(), "ok=1");
        assert_eq!(link.span_context.trace_id(), span.span_context.trace_id());
    }

    #[test]
    fn a_span_without_secrets_is_unchanged() {
        let mut span = span_with_cards();
        span.name = "GET /orders/{id}".into();
        span.attributes.truncate(0);
        span.events.events.clear();
        span.links.links.clear();
        span.status = Status::Ok;
        span.span_context = context("acme=1");
        let before = format!("{span:?}");
        redact_span(&mut span);
        assert_eq!(format!("{span:?}"), before);
    }
}

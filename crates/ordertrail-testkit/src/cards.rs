//! Finding card numbers in outputs, written once and independently of the library's mask.
//!
//! [`find_cards`] percent-decodes the text (twice, for doubly encoded URLs), then reads digit
//! groups joined by 1 to 3 separators (any Unicode whitespace, `-._/+:`, or a Unicode dash)
//! and reports every stretch of consecutive groups, of any sizes, holding 13 to 19 digits that
//! pass the Luhn check and do not start with 0 (no card does; zero padding does). It is broader
//! than the mask on purpose: it does not ask groups to be card-shaped. It spares only what must
//! be spared for a random id never to fail a test: a stretch inside a hyphenated UUID, or inside
//! a hex word with a letter that is 16 or 32 long (span and trace ids) or 40 and more.
//!
//! The other functions gather the strings of each kind of output: JSON lines, OTLP spans and
//! log records as the collector received them, and files read as text.

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use ordertrail_collector::{ReceivedLog, ReceivedSpan};
use serde_json::Value;

/// Every card-like stretch in `text`, as written after percent-decoding.
pub fn find_cards(text: &str) -> Vec<String> {
    let text: Vec<char> = percent_decode(&percent_decode(text)).chars().collect();
    let groups = digit_groups(&text);
    let mut found = Vec::new();
    for first in 0..groups.len() {
        let mut digits = String::new();
        for last in first..groups.len() {
            if last > first && !joined(&text, groups[last - 1].1, groups[last].0) {
                break;
            }
            digits.extend(&text[groups[last].0..groups[last].1]);
            let (start, end) = (groups[first].0, groups[last].1);
            if is_card(&digits) && !in_identifier(&text, start, end) {
                found.push(text[start..end].iter().collect());
            }
        }
    }
    found
}

/// Panics naming each card found in `texts`, read from `source`.
pub fn assert_no_cards<I: IntoIterator<Item = String>>(source: &str, texts: I) {
    let found: Vec<(String, String)> = texts
        .into_iter()
        .flat_map(|t| find_cards(&t).into_iter().map(move |c| (c, t.clone())))
        .collect();
    assert!(found.is_empty(), "card numbers in {source}: {found:#?}");
}

/// Every key, string and integer (as text) of `value`.
pub fn json_strings(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_json(value, &mut out);
    out
}

fn walk_json(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        // A float's digits are noise past its precision (`0.6679970000000001`); a card sent
        // as a number stays an integer.
        Value::Number(n) if !n.is_f64() => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| walk_json(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            if !is_otel_id(k, v) {
                walk_json(v, out);
            }
        }),
        _ => {}
    }
}

/// A line's `trace_id` or `span_id`: 32 or 16 hex digits the SDK drew at random. About one
/// span id in 2,000 is all decimal digits, and a tenth of those pass Luhn: scanning them would
/// fail a run now and then on a number no client sent.
fn is_otel_id(key: &str, value: &Value) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    let len = match key {
        "trace_id" => 32,
        "span_id" => 16,
        _ => return false,
    };
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every string an OTLP span carries: name, attributes, events, links, trace states, status,
/// resource and scope.
pub fn span_strings(received: &ReceivedSpan) -> Vec<String> {
    let span = &received.span;
    let mut out = vec![span.name.clone(), span.trace_state.clone()];
    let status = span.status.as_ref().map(|s| s.message.clone());
    out.extend(status);
    key_values(&span.attributes, &mut out);
    key_values(&received.resource, &mut out);
    for event in &span.events {
        out.push(event.name.clone());
        key_values(&event.attributes, &mut out);
    }
    for link in &span.links {
        out.push(link.trace_state.clone());
        key_values(&link.attributes, &mut out);
    }
    out.extend(received.scope.iter().map(|s| s.name.clone()));
    out
}

/// Every string an OTLP log record carries: body, attributes, severity, event name, resource.
pub fn log_strings(received: &ReceivedLog) -> Vec<String> {
    let record = &received.record;
    let mut out = vec![record.severity_text.clone(), record.event_name.clone()];
    if let Some(body) = &record.body {
        any_value(body, &mut out);
    }
    key_values(&record.attributes, &mut out);
    key_values(&received.resource, &mut out);
    out
}

fn key_values(kvs: &[KeyValue], out: &mut Vec<String>) {
    for kv in kvs {
        out.push(kv.key.clone());
        if let Some(value) = &kv.value {
            any_value(value, out);
        }
    }
}

fn any_value(value: &AnyValue, out: &mut Vec<String>) {
    match &value.value {
        Some(Any::StringValue(s)) => out.push(s.clone()),
        Some(Any::IntValue(n)) => out.push(n.to_string()),
        Some(Any::BytesValue(b)) => out.push(String::from_utf8_lossy(b).into_owned()),
        Some(Any::ArrayValue(a)) => a.values.iter().for_each(|v| any_value(v, out)),
        Some(Any::KvlistValue(l)) => key_values(&l.values, out),
        _ => {}
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The char ranges of the maximal runs of ASCII digits.
fn digit_groups(text: &[char]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_digit() {
            let start = i;
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            groups.push((start, i));
        } else {
            i += 1;
        }
    }
    groups
}

/// Whether 1 to 3 separators, and nothing else, stand between `end` and `start`.
fn joined(text: &[char], end: usize, start: usize) -> bool {
    let gap = &text[end..start];
    (1..=3).contains(&gap.len()) && gap.iter().all(|c| is_separator(*c))
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || "-._/+:\u{2010}\u{2011}\u{2012}\u{2013}\u{2014}\u{2015}\u{2212}\u{ff0d}".contains(c)
}

fn is_card(digits: &str) -> bool {
    (13..=19).contains(&digits.len()) && !digits.starts_with('0') && luhn(digits)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            match (i % 2, d) {
                (0, d) => d,
                (_, d) if d > 4 => d * 2 - 9,
                (_, d) => d * 2,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether `start..end` lies in a hyphenated UUID or in a hex id word.
fn in_identifier(text: &[char], start: usize, end: usize) -> bool {
    let uuid = |w: &[char]| {
        w.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == '-',
            _ => c.is_ascii_hexdigit(),
        })
    };
    let in_uuid = (end.saturating_sub(36)..=start).any(|w| text.get(w..w + 36).is_some_and(uuid));
    in_uuid || hex_word(text, start) || hex_word(text, end - 1)
}

fn hex_word(text: &[char], at: usize) -> bool {
    let alnum = |c: &char| c.is_ascii_alphanumeric();
    let start = text[..at]
        .iter()
        .rposition(|c| !alnum(c))
        .map_or(0, |p| p + 1);
    let end = text[at..]
        .iter()
        .position(|c| !alnum(c))
        .map_or(text.len(), |p| at + p);
    let word = &text[start..end];
    let hex =
        word.iter().all(char::is_ascii_hexdigit) && word.iter().any(char::is_ascii_alphabetic);
    hex && (word.len() == 16 || word.len() == 32 || word.len() >= 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cards_in_any_written_form() {
        for text in [
            "4242424242424242",
            "x 4242 4242 4242 4242 y",
            "card4000000000000002",
            "/orders/4242%2F4242%2F4242%2F4242",
            "4242%252D4242%252D4242%252D4242",
            "4242\u{a0}4242\t4242 - 4242",
            "42 42 42 42 42 42 42 42",
            "378282246310005",
        ] {
            assert!(!find_cards(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn spares_masks_ids_and_timestamps() {
        for text in [
            "[card ••••4242] [card ••••4242] [card ••••4242] [card ••••4242]",
            "4bf92f3577b34da6a3ce929d0e0e4736 ab42424242424242",
            "0193a5b2-7c1e-7d3a-9f00-424242424242",
            "2026-12-02T06:40:09.123456Z 127.0.0.1:4242",
            "0000000000000000 4242424242424241",
        ] {
            assert_eq!(find_cards(text), Vec::<String>::new(), "{text}");
        }
    }
}

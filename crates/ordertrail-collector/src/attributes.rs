//! Reading OTLP attribute lists: [`attribute`], [`attribute_str`], [`attribute_int`], and
//! [`hex_id`] for trace and span ids.
//!
//! An OTLP attribute list is a `Vec<KeyValue>` whose values are a `oneof`: a string, an int, a
//! bool, a double, bytes, an array or a nested list. These helpers answer the common question
//! "what is the value of `key`, as the type I expect?" and answer `None` both when the key is
//! missing and when it holds another type. That second case matters: an HTTP status recorded as
//! a `u16` is exported as the *string* `"200"`, so `attribute_int(.., "http.response.status_code")`
//! returns `None` and a test notices.

use std::fmt::Write as _;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;

/// The value of the first attribute named `key`, whatever its type.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|any| any.value.as_ref())
}

/// The value of `key` if it is a string attribute.
pub fn attribute_str<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key)? {
        Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The value of `key` if it is an integer attribute.
pub fn attribute_int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key)? {
        Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

/// Lower-case hex of an id, the way W3C `traceparent` and OTLP/JSON spell trace and span ids.
/// An empty slice (no parent, no trace context) gives an empty string.
pub fn hex_id(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::AnyValue;

    use super::*;

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    #[test]
    fn reads_values_of_the_expected_type_only() {
        let attributes = [
            kv("service.name", Value::StringValue("gateway".into())),
            kv("http.response.status_code", Value::IntValue(201)),
        ];
        assert_eq!(attribute_str(&attributes, "service.name"), Some("gateway"));
        assert_eq!(
            attribute_int(&attributes, "http.response.status_code"),
            Some(201)
        );
        assert_eq!(attribute_int(&attributes, "service.name"), None);
        assert_eq!(attribute_str(&attributes, "missing"), None);
    }

    #[test]
    fn hex_is_lower_case_and_zero_padded() {
        assert_eq!(hex_id(&[0x00, 0x0a, 0xff]), "000aff");
        assert_eq!(hex_id(&[]), "");
    }
}

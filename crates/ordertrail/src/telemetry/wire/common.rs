//! The messages every signal shares (`opentelemetry/proto/common/v1`, `resource/v1`):
//! attributes, values, the instrumentation scope and the resource.

use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;

use super::protobuf::{Scalar, Writer};

/// `KeyValue.key`.
const KEY: u32 = 1;
/// `KeyValue.value`.
const VALUE: u32 = 2;

/// `AnyValue` fields (one of).
mod any {
    pub(super) const STRING: u32 = 1;
    pub(super) const BOOL: u32 = 2;
    pub(super) const INT: u32 = 3;
    pub(super) const DOUBLE: u32 = 4;
    pub(super) const ARRAY: u32 = 5;
}

/// `ArrayValue.values` and `KeyValueList.values`.
const VALUES: u32 = 1;

/// One attribute of a span, event, link, resource or scope, as `KeyValue` field `field`.
pub(crate) fn key_value(w: &mut Writer, field: u32, kv: &KeyValue) {
    attribute(w, field, kv.key.as_str(), &kv.value);
}

fn attribute(w: &mut Writer, field: u32, key: &str, value: &Value) {
    if let Some(scalar) = value_scalar(value) {
        return w.key_scalar(field, key, scalar);
    }
    let open = w.open(field);
    w.string(KEY, key);
    let inner = w.open(VALUE);
    any_of_value(w, value);
    w.close(inner);
    w.close(open);
}

/// The `AnyValue` field of a value that is not a list or a map.
fn value_scalar(value: &Value) -> Option<Scalar<'_>> {
    Some(match value {
        Value::Bool(b) => Scalar::Varint(any::BOOL, u64::from(*b)),
        Value::I64(i) => Scalar::Varint(any::INT, *i as u64),
        Value::F64(f) => Scalar::Double(any::DOUBLE, *f),
        Value::String(s) => Scalar::Bytes(any::STRING, s.as_str().as_bytes()),
        _ => return None,
    })
}

/// The fields of an `AnyValue` holding an attribute value.
fn any_of_value(w: &mut Writer, value: &Value) {
    if let Some(scalar) = value_scalar(value) {
        return w.scalar(scalar);
    }
    match value {
        Value::Array(array) => {
            let open = w.open(any::ARRAY);
            array_values(w, array);
            w.close(open);
        }
        // A value kind newer than this encoder: its text, rather than nothing.
        other => w.always_bytes(any::STRING, other.as_str().as_bytes()),
    }
}

fn array_values(w: &mut Writer, array: &Array) {
    match array {
        Array::Bool(items) => items
            .iter()
            .for_each(|b| element(w, |w| w.always_uint(any::BOOL, u64::from(*b)))),
        Array::I64(items) => items
            .iter()
            .for_each(|i| element(w, |w| w.always_uint(any::INT, *i as u64))),
        Array::F64(items) => items
            .iter()
            .for_each(|f| element(w, |w| w.double(any::DOUBLE, *f))),
        Array::String(items) => items.iter().for_each(|s| {
            element(w, |w| w.always_bytes(any::STRING, s.as_str().as_bytes()));
        }),
        other => element(w, |w| {
            w.always_bytes(any::STRING, other.to_string().as_bytes());
        }),
    }
}

/// One `AnyValue` of an `ArrayValue`.
fn element(w: &mut Writer, fields: impl FnOnce(&mut Writer)) {
    let open = w.open(VALUES);
    fields(w);
    w.close(open);
}

/// `Resource` as field `field`: its attributes.
pub(crate) fn resource(w: &mut Writer, field: u32, resource: &Resource) {
    let open = w.open(field);
    for (key, value) in resource.iter() {
        attribute(w, 1, key.as_str(), value);
    }
    w.close(open);
}

/// `InstrumentationScope` as field `field`, named `name` (a log record's target names its
/// scope).
pub(crate) fn scope(w: &mut Writer, field: u32, scope: &InstrumentationScope, name: &str) {
    let open = w.open(field);
    w.string(1, name);
    w.string(2, scope.version().unwrap_or_default());
    scope.attributes().for_each(|kv| key_value(w, 3, kv));
    w.close(open);
}

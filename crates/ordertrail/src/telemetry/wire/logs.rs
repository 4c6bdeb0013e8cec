//! OTLP log records (`opentelemetry/proto/logs/v1/logs.proto`) written straight from the
//! flattened event the log lines are made of: no SDK log record in between, and the record is
//! encoded once, on the thread that logged it.

use std::time::SystemTime;

use opentelemetry::trace::SpanContext;
use opentelemetry_sdk::Resource;
use tracing::Level;

use super::common::resource;
use super::protobuf::{Encoded, Scalar, Writer};
use super::spans::nanos;
use crate::logging::{FieldValue, FlatRecord};
use crate::recorder::Marker;

/// `AnyValue` fields.
const STRING: u32 = 1;
const BOOL: u32 = 2;
const INT: u32 = 3;
const DOUBLE: u32 = 4;

/// One log record to write: the flattened event and what the output adds to it.
#[derive(Debug)]
pub(crate) struct RecordView<'a> {
    /// When the event happened.
    pub(crate) time: SystemTime,
    /// When the record was made (later than `time` for a replayed event).
    pub(crate) observed: SystemTime,
    pub(crate) level: Level,
    pub(crate) record: &'a FlatRecord,
    /// The `service` attribute when no span names one.
    pub(crate) service: &'a str,
    /// Set on a record the flight recorder replays.
    pub(crate) marker: Option<&'a Marker>,
}

/// Writes `view` as a `LogRecord`, field 2 of a `ScopeLogs`: body = message; severity from the
/// level; trace and span id of the active span; attributes `request_id`, `service`, then the
/// flattened fields, then the replay marker. Kept out of line, so that its cost has a name in
/// a profile (the components benchmark reads it).
#[inline(never)]
pub(crate) fn log_record(w: &mut Writer, view: &RecordView<'_>) {
    let open = w.open(2);
    let record = view.record;
    w.fixed64(1, nanos(view.time));
    w.uint(2, severity_number(view.level));
    w.string(3, view.level.as_str());
    if let Some(message) = &record.message {
        let body = w.open(5);
        w.scalar(scalar(message));
        w.close(body);
    }
    attributes(w, view);
    if let Some(trace) = &record.trace {
        trace_context(w, trace);
    }
    w.fixed64(11, nanos(view.observed));
    w.close(open);
}

fn attributes(w: &mut Writer, view: &RecordView<'_>) {
    let record = view.record;
    if let Some(id) = &record.request_id {
        w.key_scalar(
            6,
            "request_id",
            Scalar::Bytes(STRING, id.as_str().as_bytes()),
        );
    }
    let service = record.service.as_deref().unwrap_or(view.service);
    w.key_scalar(6, "service", Scalar::Bytes(STRING, service.as_bytes()));
    for (name, value) in &record.fields {
        w.key_scalar(6, name, scalar(value));
    }
    if let Some(marker) = view.marker {
        w.key_scalar(6, "replayed", Scalar::Varint(BOOL, 1));
        let trigger = marker.trigger.as_str();
        w.key_scalar(
            6,
            "replay_trigger",
            Scalar::Bytes(STRING, trigger.as_bytes()),
        );
        if marker.dropped > 0 {
            let dropped = i64::try_from(marker.dropped).unwrap_or(i64::MAX);
            w.key_scalar(6, "replay_dropped", Scalar::Varint(INT, dropped as u64));
        }
    }
}

fn trace_context(w: &mut Writer, trace: &SpanContext) {
    w.fixed32(8, u32::from(trace.trace_flags().to_u8()));
    w.bytes(9, &trace.trace_id().to_bytes());
    w.bytes(10, &trace.span_id().to_bytes());
}

/// A field's value as an `AnyValue` field; an unsigned number past `i64` as a double.
fn scalar(value: &FieldValue) -> Scalar<'_> {
    match value {
        FieldValue::Str(text) => Scalar::Bytes(STRING, text.as_bytes()),
        FieldValue::I64(n) => Scalar::Varint(INT, *n as u64),
        FieldValue::U64(n) => match i64::try_from(*n) {
            Ok(n) => Scalar::Varint(INT, n as u64),
            Err(_) => Scalar::Double(DOUBLE, *n as f64),
        },
        FieldValue::F64(x) => Scalar::Double(DOUBLE, *x),
        FieldValue::Bool(b) => Scalar::Varint(BOOL, u64::from(*b)),
    }
}

/// The OTLP severity number of a level (the first of its four).
fn severity_number(level: Level) -> u64 {
    match level {
        Level::TRACE => 1,
        Level::DEBUG => 5,
        Level::INFO => 9,
        Level::WARN => 13,
        Level::ERROR => 17,
    }
}

/// The `ExportLogsServiceRequest` of the records in `scopes`: per scope (a target), its
/// `LogRecord` fields as [`log_record`] wrote them. Kept out of line, like [`log_record`].
#[inline(never)]
pub(crate) fn export_request(
    res: &Resource,
    version: &str,
    scopes: &[(&'static str, Vec<u8>)],
) -> Encoded {
    // The resource and each scope's header take a few hundred bytes; room for them up front
    // spares a reallocation that would copy the whole batch.
    let size: usize = scopes.iter().map(|(_, records)| records.len() + 128).sum();
    let mut w = Writer::request(1024 + size);
    let resource_logs = w.open(1);
    resource(&mut w, 1, res);
    for (target, records) in scopes {
        let scope_logs = w.open(2);
        let scope = w.open(1);
        w.string(1, target);
        w.string(2, version);
        w.close(scope);
        w.raw(records);
        w.close(scope_logs);
    }
    w.string(3, res.schema_url().unwrap_or_default());
    w.close(resource_logs);
    w.finish()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::KeyValue;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::logs::v1::LogRecord;
    use prost::Message;

    use super::*;
    use crate::correlation::RequestId;
    use crate::recorder::Trigger;

    fn flat() -> FlatRecord {
        FlatRecord {
            message: Some(FieldValue::Str("payment declined".into())),
            request_id: Some("r-1".parse::<RequestId>().unwrap()),
            service: Some("payments".into()),
            trace: Some(SpanContext::new(
                TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
                SpanId::from(0xb7ad6b7169203331_u64),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            )),
            fields: vec![
                ("order.id", FieldValue::Str("o-7".into())),
                ("attempt", FieldValue::I64(-2)),
                ("bytes", FieldValue::U64(u64::MAX)),
                ("ratio", FieldValue::F64(0.5)),
                ("retry", FieldValue::Bool(true)),
            ],
            time: None,
        }
    }

    fn decode(scopes: &[(&'static str, Vec<u8>)]) -> ExportLogsServiceRequest {
        let res = Resource::builder_empty()
            .with_attributes([KeyValue::new("service.name", "payments")])
            .build();
        let encoded = export_request(&res, "0.2.0", scopes);
        ExportLogsServiceRequest::decode(encoded.message()).expect("a logs export request")
    }

    fn written(view: &RecordView<'_>) -> Vec<u8> {
        let mut w = Writer::default();
        log_record(&mut w, view);
        w.into_bytes()
    }

    fn attribute(record: &LogRecord, key: &str) -> Option<Value> {
        let kv = record.attributes.iter().find(|kv| kv.key == key)?;
        kv.value.clone()?.value
    }

    #[test]
    fn a_record_carries_the_event_its_ids_and_its_fields() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789);
        let record = flat();
        let view = RecordView {
            time: at,
            observed: at + Duration::from_micros(3),
            level: Level::WARN,
            record: &record,
            service: "unused",
            marker: None,
        };
        let request = decode(&[("payments::charge", written(&view))]);
        let scope_logs = &request.resource_logs[0].scope_logs[0];
        let scope = scope_logs.scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("payments::charge", "0.2.0")
        );
        let got = &scope_logs.log_records[0];
        assert_eq!(got.time_unix_nano, 1_764_000_000_123_456_789);
        assert_eq!(got.observed_time_unix_nano, 1_764_000_000_123_459_789);
        assert_eq!(
            (got.severity_number, got.severity_text.as_str()),
            (13, "WARN")
        );
        let body = got.body.clone().unwrap().value;
        assert_eq!(body, Some(Value::StringValue("payment declined".into())));
        assert_eq!(
            got.trace_id,
            0x0af7651916cd43dd8448eb211c80319c_u128.to_be_bytes()
        );
        assert_eq!(got.span_id, 0xb7ad6b7169203331_u64.to_be_bytes());
        assert_eq!(got.flags, 1);
        let keys: Vec<&str> = got.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "request_id",
                "service",
                "order.id",
                "attempt",
                "bytes",
                "ratio",
                "retry"
            ]
        );
        assert_eq!(
            attribute(got, "request_id"),
            Some(Value::StringValue("r-1".into()))
        );
        assert_eq!(
            attribute(got, "service"),
            Some(Value::StringValue("payments".into()))
        );
        assert_eq!(attribute(got, "attempt"), Some(Value::IntValue(-2)));
        assert_eq!(
            attribute(got, "bytes"),
            Some(Value::DoubleValue(u64::MAX as f64))
        );
        assert_eq!(attribute(got, "ratio"), Some(Value::DoubleValue(0.5)));
        assert_eq!(attribute(got, "retry"), Some(Value::BoolValue(true)));
    }

    #[test]
    fn a_replayed_record_carries_the_marker_and_a_bare_one_the_default_service() {
        let at = UNIX_EPOCH + Duration::from_secs(1);
        let record = FlatRecord::default();
        let marker = Marker {
            trigger: Trigger::ServerError,
            dropped: 3,
        };
        let view = RecordView {
            time: at,
            observed: at,
            level: Level::DEBUG,
            record: &record,
            service: "checkout",
            marker: Some(&marker),
        };
        let request = decode(&[("checkout", written(&view))]);
        let got = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert!(got.body.is_none() && got.trace_id.is_empty());
        assert_eq!(got.severity_number, 5);
        assert_eq!(
            attribute(got, "service"),
            Some(Value::StringValue("checkout".into()))
        );
        assert_eq!(attribute(got, "replayed"), Some(Value::BoolValue(true)));
        let trigger = Value::StringValue(Trigger::ServerError.as_str().into());
        assert_eq!(attribute(got, "replay_trigger"), Some(trigger));
        assert_eq!(attribute(got, "replay_dropped"), Some(Value::IntValue(3)));
    }

    #[test]
    fn each_scope_holds_its_own_records() {
        let record = flat();
        let view = |level| RecordView {
            time: UNIX_EPOCH,
            observed: UNIX_EPOCH,
            level,
            record: &record,
            service: "payments",
            marker: None,
        };
        let mut two = written(&view(Level::INFO));
        two.extend(written(&view(Level::ERROR)));
        let request = decode(&[("a", two), ("b", written(&view(Level::INFO)))]);
        let counts: Vec<(String, usize)> = request.resource_logs[0]
            .scope_logs
            .iter()
            .map(|s| (s.scope.as_ref().unwrap().name.clone(), s.log_records.len()))
            .collect();
        assert_eq!(counts, [("a".to_owned(), 2), ("b".to_owned(), 1)]);
        let resource = request.resource_logs[0].resource.as_ref().unwrap();
        assert_eq!(resource.attributes[0].key, "service.name");
    }
}

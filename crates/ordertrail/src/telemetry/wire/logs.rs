//! `ExportLogsServiceRequest` written straight from the SDK's log records
//! (`opentelemetry/proto/logs/v1/logs.proto`).

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch, SdkLogRecord};

use super::common::{any_of_log_value, log_key_value, resource, scope};
use super::protobuf::{Encoded, Writer};
use super::spans::nanos;

/// Bytes a log record usually takes; a batch's buffer starts at this times its records.
const RECORD_SIZE_HINT: usize = 512;

/// One record with the scope it is exported under.
type Entry<'a> = (&'a SdkLogRecord, &'a InstrumentationScope);

/// The request exporting `batch` on behalf of `resource`. Records are grouped by scope; as
/// in the SDK's own OTLP exporter, a record's target (its module path) names its scope.
pub(crate) fn export_request(batch: &LogBatch<'_>, res: &Resource) -> Encoded {
    let entries: Vec<Entry<'_>> = batch.iter().collect();
    let mut w = Writer::request(256 + entries.len() * RECORD_SIZE_HINT);
    if entries.is_empty() {
        return w.finish();
    }
    let resource_logs = w.open(1);
    resource(&mut w, 1, res);
    for (name, scope_of) in distinct_scopes(&entries) {
        let scope_logs = w.open(2);
        scope(&mut w, 1, scope_of, name);
        entries
            .iter()
            .filter(|(record, of)| scope_name(record, of) == name && *of == scope_of)
            .for_each(|(record, _)| log_record(&mut w, record));
        w.string(3, scope_of.schema_url().unwrap_or_default());
        w.close(scope_logs);
    }
    w.string(3, res.schema_url().unwrap_or_default());
    w.close(resource_logs);
    w.finish()
}

/// The name a record's scope is exported under: its target, else the scope's own name.
fn scope_name<'a>(record: &'a SdkLogRecord, scope_of: &'a InstrumentationScope) -> &'a str {
    record.target().map_or(scope_of.name(), |target| target)
}

/// The (name, scope) pairs of `entries`, each once, in order of first appearance.
fn distinct_scopes<'a>(entries: &[Entry<'a>]) -> Vec<(&'a str, &'a InstrumentationScope)> {
    let mut scopes: Vec<(&str, &InstrumentationScope)> = Vec::with_capacity(4);
    for (record, scope_of) in entries {
        let key = (scope_name(record, scope_of), *scope_of);
        if !scopes.contains(&key) {
            scopes.push(key);
        }
    }
    scopes
}

fn log_record(w: &mut Writer, record: &SdkLogRecord) {
    let open = w.open(2);
    w.fixed64(1, record.timestamp().map_or(0, nanos));
    w.uint(2, record.severity_number().map_or(0, |s| s as u64));
    w.string(3, record.severity_text().unwrap_or_default());
    if let Some(body) = record.body() {
        let inner = w.open(5);
        any_of_log_value(w, body);
        w.close(inner);
    }
    record
        .attributes_iter()
        .for_each(|(key, value)| log_key_value(w, 6, key, value));
    if let Some(context) = record.trace_context() {
        w.fixed32(8, context.trace_flags.map_or(0, |f| u32::from(f.to_u8())));
        w.bytes(9, &context.trace_id.to_bytes());
        w.bytes(10, &context.span_id.to_bytes());
    }
    w.fixed64(11, record.observed_timestamp().map_or(0, nanos));
    w.string(12, record.event_name().unwrap_or_default());
    w.close(open);
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::logs::{
        AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity,
    };
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
    use opentelemetry::{Key, KeyValue};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use prost::Message;

    use super::*;

    /// A record using every field the encoder writes.
    fn full_record(target: Option<&'static str>) -> SdkLogRecord {
        let provider = SdkLoggerProvider::builder().build();
        let mut record = provider.logger("unused").create_log_record();
        let at = UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789);
        record.set_timestamp(at);
        record.set_observed_timestamp(at + Duration::from_micros(3));
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_body(AnyValue::from("payment declined"));
        record.set_event_name("payment.declined");
        if let Some(target) = target {
            record.set_target(target);
        }
        record.add_attribute("request_id", "r-1");
        record.add_attribute("attempt", 2_i64);
        record.add_attribute("ratio", 0.5);
        record.add_attribute("retry", true);
        record.add_attribute("raw", AnyValue::Bytes(Box::new(vec![0, 1, 2])));
        record.add_attribute(
            "list",
            AnyValue::ListAny(Box::new(vec![AnyValue::Int(1), AnyValue::from("two")])),
        );
        let map = HashMap::from([(Key::from("inner"), AnyValue::Boolean(false))]);
        record.add_attribute("map", AnyValue::Map(Box::new(map)));
        record.set_trace_context(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
            SpanId::from(0xb7ad6b7169203331_u64),
            Some(TraceFlags::SAMPLED),
        );
        record
    }

    fn test_resource() -> Resource {
        Resource::builder_empty()
            .with_attributes([KeyValue::new("service.name", "checkout")])
            .build()
    }

    fn decode(bytes: &[u8]) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest::decode(bytes).expect("a valid ExportLogsServiceRequest")
    }

    #[test]
    fn decodes_as_what_the_sdk_exporter_sends() {
        let scope_of = InstrumentationScope::builder("ordertrail")
            .with_version("0.2.0")
            .build();
        let (first, second) = (
            full_record(Some("checkout::pay")),
            full_record(Some("checkout::pay")),
        );
        let data = [(&first, &scope_of), (&second, &scope_of)];
        let batch = LogBatch::new(&data);
        let res = test_resource();
        let resource_logs =
            group_logs_by_resource_and_scope(&batch, &ResourceAttributesWithSchema::from(&res));
        assert_eq!(
            decode(export_request(&batch, &res).message()),
            ExportLogsServiceRequest { resource_logs }
        );
    }

    #[test]
    fn a_record_without_target_or_context_keeps_its_scope_name() {
        let scope_of = InstrumentationScope::builder("ordertrail").build();
        let provider = SdkLoggerProvider::builder().build();
        let mut bare = provider.logger("unused").create_log_record();
        bare.set_observed_timestamp(UNIX_EPOCH + Duration::from_secs(1));
        let targeted = full_record(Some("checkout::pay"));
        let data = [(&bare, &scope_of), (&targeted, &scope_of)];
        let request = decode(export_request(&LogBatch::new(&data), &test_resource()).message());
        let names: Vec<(String, usize)> = request.resource_logs[0]
            .scope_logs
            .iter()
            .map(|s| (s.scope.as_ref().unwrap().name.clone(), s.log_records.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("ordertrail".to_owned(), 1),
                ("checkout::pay".to_owned(), 1)
            ]
        );
        let record = &request.resource_logs[0].scope_logs[0].log_records[0];
        assert!(record.trace_id.is_empty() && record.body.is_none());
    }
}

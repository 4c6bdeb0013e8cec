//! Reading OTLP/JSON — `ExportTraceServiceRequest` / `ExportLogsServiceRequest`, or the
//! `TracesData` inside Jaeger's answers — into [`SpanRecord`]s and [`LogRecord`]s.
//!
//! The reader is lenient on purpose, because every writer spells OTLP/JSON a little
//! differently: the embedded collector writes unset messages as `null` and every default in
//! full; Jaeger's `jsonpb` leaves defaults out; enums come as numbers (`"kind": 2`) or names
//! (`"SPAN_KIND_SERVER"`); 64-bit integers as strings (`"intValue": "201"`) or numbers. Ids are
//! hex, as OTLP/JSON requires.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::model::{LogRecord, REQUEST_ID_ATTRIBUTE, SpanKind, SpanRecord, SpanStatus};

/// The resource attribute that names the service.
const SERVICE_NAME: &str = "service.name";

/// `TracesData` or `ExportTraceServiceRequest`: spans nested in resources and scopes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TracesData {
    #[serde(default, deserialize_with = "nullable")]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans {
    #[serde(default, deserialize_with = "nullable")]
    resource: Resource,
    #[serde(default, deserialize_with = "nullable")]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeSpans {
    #[serde(default, deserialize_with = "nullable")]
    spans: Vec<Span>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Span {
    #[serde(default, deserialize_with = "nullable")]
    trace_id: String,
    #[serde(default, deserialize_with = "nullable")]
    span_id: String,
    #[serde(default, deserialize_with = "nullable")]
    parent_span_id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default)]
    kind: Option<Enum>,
    #[serde(default)]
    start_time_unix_nano: Option<Int>,
    #[serde(default)]
    end_time_unix_nano: Option<Int>,
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(default, deserialize_with = "nullable")]
    status: Status,
}

#[derive(Debug, Default, Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<Enum>,
}

/// `ExportLogsServiceRequest`: log records nested in resources and scopes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogsData {
    #[serde(default, deserialize_with = "nullable")]
    resource_logs: Vec<ResourceLogs>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLogs {
    #[serde(default, deserialize_with = "nullable")]
    resource: Resource,
    #[serde(default, deserialize_with = "nullable")]
    scope_logs: Vec<ScopeLogs>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeLogs {
    #[serde(default, deserialize_with = "nullable")]
    log_records: Vec<Log>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Log {
    #[serde(default)]
    time_unix_nano: Option<Int>,
    #[serde(default)]
    observed_time_unix_nano: Option<Int>,
    #[serde(default, deserialize_with = "nullable")]
    severity_text: String,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(default, deserialize_with = "nullable")]
    trace_id: String,
    #[serde(default, deserialize_with = "nullable")]
    span_id: String,
}

#[derive(Debug, Deserialize)]
struct KeyValue {
    key: String,
    /// An `AnyValue`: `{"stringValue": ..}`, `{"intValue": ..}`, ...; see [`any_value`].
    #[serde(default)]
    value: Option<Value>,
}

/// An enum as a number or as its name.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Enum {
    Number(i64),
    Name(String),
}

/// A 64-bit integer as a number or a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Int {
    Number(u64),
    Text(String),
}

impl Int {
    fn get(&self) -> Option<u64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(t) => t.parse().ok(),
        }
    }
}

/// `null` reads as the default, like a missing field.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses one line of `traces.jsonl` (or a Jaeger `result`) into spans.
pub fn parse_traces(json: &str) -> Result<Vec<SpanRecord>, serde_json::Error> {
    serde_json::from_str::<TracesData>(json).map(TracesData::into_spans)
}

/// Parses one line of `otlp-logs.jsonl` into log records.
pub fn parse_logs(json: &str) -> Result<Vec<LogRecord>, serde_json::Error> {
    serde_json::from_str::<LogsData>(json).map(LogsData::into_logs)
}

impl TracesData {
    /// Every span, flattened with its service.
    pub(crate) fn into_spans(self) -> Vec<SpanRecord> {
        let mut out = Vec::new();
        for resource_spans in self.resource_spans {
            let service = service_name(&resource_spans.resource);
            let spans = resource_spans.scope_spans.into_iter().flat_map(|s| s.spans);
            out.extend(spans.map(|span| span_record(span, &service)));
        }
        out
    }
}

impl LogsData {
    /// Every log record, flattened with its service.
    pub(crate) fn into_logs(self) -> Vec<LogRecord> {
        let mut out = Vec::new();
        for resource_logs in self.resource_logs {
            let service = service_name(&resource_logs.resource);
            let logs = resource_logs
                .scope_logs
                .into_iter()
                .flat_map(|s| s.log_records);
            out.extend(logs.map(|log| log_record(log, &service)));
        }
        out
    }
}

fn service_name(resource: &Resource) -> String {
    match attribute(&resource.attributes, SERVICE_NAME) {
        Some(Value::String(name)) => name,
        _ => "unknown".to_owned(),
    }
}

fn span_record(span: Span, service: &str) -> SpanRecord {
    let kind = match &span.kind {
        Some(Enum::Number(n)) => SpanKind::from_otlp(*n),
        Some(Enum::Name(name)) => SpanKind::from_otlp_name(name),
        None => SpanKind::Unspecified,
    };
    let status = match &span.status.code {
        Some(Enum::Number(n)) => SpanStatus::from_otlp(*n),
        Some(Enum::Name(name)) => SpanStatus::from_otlp_name(name),
        None => SpanStatus::Unset,
    };
    let http_status = attribute(&span.attributes, "http.response.status_code")
        .and_then(|v| json_u64(&v))
        .and_then(|n| u16::try_from(n).ok());
    let request_id = match attribute(&span.attributes, REQUEST_ID_ATTRIBUTE) {
        Some(Value::String(id)) => Some(id),
        _ => None,
    };
    SpanRecord {
        trace_id: span.trace_id.to_ascii_lowercase(),
        span_id: span.span_id.to_ascii_lowercase(),
        parent_span_id: non_empty(span.parent_span_id.to_ascii_lowercase()),
        service: service.to_owned(),
        name: span.name,
        kind,
        start_unix_nano: nanos(span.start_time_unix_nano.as_ref()),
        end_unix_nano: nanos(span.end_time_unix_nano.as_ref()),
        status,
        http_status,
        request_id,
    }
}

fn log_record(log: Log, service: &str) -> LogRecord {
    let mut fields: Map<String, Value> = log
        .attributes
        .into_iter()
        .filter_map(|kv| Some((kv.key, any_value(&kv.value?))))
        .collect();
    let request_id = match fields.remove("request_id") {
        Some(Value::String(id)) => Some(id),
        _ => None,
    };
    fields.remove("service");
    let message = match log.body.as_ref().map(any_value) {
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let time = log
        .time_unix_nano
        .as_ref()
        .and_then(Int::get)
        .filter(|t| *t > 0);
    LogRecord {
        time_unix_nano: time.unwrap_or_else(|| nanos(log.observed_time_unix_nano.as_ref())),
        level: log.severity_text,
        service: service.to_owned(),
        message,
        request_id,
        trace_id: non_empty(log.trace_id.to_ascii_lowercase()),
        span_id: non_empty(log.span_id.to_ascii_lowercase()),
        fields,
    }
}

fn nanos(value: Option<&Int>) -> u64 {
    value.and_then(Int::get).unwrap_or(0)
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// The plain JSON value of the first attribute named `key`.
fn attribute(attributes: &[KeyValue], key: &str) -> Option<Value> {
    let kv = attributes.iter().find(|kv| kv.key == key)?;
    kv.value.as_ref().map(any_value)
}

fn json_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An OTLP `AnyValue` as plain JSON: `{"intValue":"201"}` becomes `201`.
fn any_value(value: &Value) -> Value {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return Value::Null;
    };
    match kind.as_str() {
        "intValue" => json_u64(inner)
            .map(Value::from)
            .or_else(|| {
                inner
                    .as_str()
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(Value::from)
            })
            .unwrap_or_else(|| inner.clone()),
        "arrayValue" => Value::Array(values_of(inner).iter().map(any_value).collect()),
        "kvlistValue" => Value::Object(
            values_of(inner)
                .iter()
                .filter_map(|kv| Some((kv["key"].as_str()?.to_owned(), any_value(&kv["value"]))))
                .collect(),
        ),
        _ => inner.clone(),
    }
}

fn values_of(list: &Value) -> Vec<Value> {
    list.get("values")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLLECTOR_LINE: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}}],"droppedAttributesCount":0},"scopeSpans":[{"scope":null,"spans":[{"traceId":"6fad2da5358306b29b382072239a7457","spanId":"9d623bee8133d95c","traceState":"","parentSpanId":"","flags":257,"name":"POST /charges/{order_id}","kind":2,"startTimeUnixNano":"1795547679673296853","endTimeUnixNano":"1795547679673908753","attributes":[{"key":"request.id","value":{"stringValue":"r-1"}},{"key":"http.response.status_code","value":{"intValue":"402"}}],"status":{"message":"","code":0}}]}]}]}"#;

    #[test]
    fn reads_the_collectors_lines() {
        let spans = parse_traces(COLLECTOR_LINE).unwrap();
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.service, "payments");
        assert_eq!(span.kind, SpanKind::Server);
        assert_eq!(span.parent_span_id, None);
        assert_eq!(span.http_status, Some(402));
        assert_eq!(span.request_id.as_deref(), Some("r-1"));
        assert_eq!(span.duration_nanos(), 611_900);
    }

    #[test]
    fn reads_enum_names_numbers_and_missing_defaults() {
        let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AB","spanId":"CD","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":5,"status":{"code":"STATUS_CODE_ERROR"}}]}]}]}"#;
        let span = &parse_traces(json).unwrap()[0];
        assert_eq!(span.service, "unknown");
        assert_eq!(span.trace_id, "ab");
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.status, SpanStatus::Error);
        assert_eq!((span.start_unix_nano, span.end_unix_nano), (5, 0));
    }

    #[test]
    fn log_records_keep_their_attributes_as_plain_json() {
        let json = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"0","observedTimeUnixNano":"17","severityText":"INFO","body":{"stringValue":"order received"},"attributes":[{"key":"request_id","value":{"stringValue":"r-1"}},{"key":"quantity","value":{"intValue":"2"}},{"key":"latency_ms","value":{"doubleValue":1.5}}],"traceId":"AA","spanId":""}]}]}]}"#;
        let log = &parse_logs(json).unwrap()[0];
        assert_eq!(log.time_unix_nano, 17);
        assert_eq!(log.service, "orders");
        assert_eq!(log.message, "order received");
        assert_eq!(log.request_id.as_deref(), Some("r-1"));
        assert_eq!(log.trace_id.as_deref(), Some("aa"));
        assert_eq!(log.span_id, None);
        assert_eq!(
            Value::Object(log.fields.clone()),
            serde_json::json!({"quantity": 2, "latency_ms": 1.5})
        );
    }
}

//! [`ReceivedSpan`] and [`ReceivedLog`]: one span or log record with the resource and scope it
//! was exported under, flattened out of the nested OTLP requests.
//!
//! An export request nests three deep: resource (which process: `service.name`, ...) >
//! instrumentation scope (which library) > spans or log records. Assertions are nearly always
//! about one span "and the service it came from", so the flat form copies the resource and scope
//! next to each item.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::attributes::{attribute_int, attribute_str, hex_id};

/// The resource attribute that names the service.
const SERVICE_NAME: &str = "service.name";

/// One received span, with the resource and scope it was exported under.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedSpan {
    /// Attributes of the resource: `service.name` and the like.
    pub resource: Vec<KeyValue>,
    /// The instrumentation scope (tracer name and version), if the exporter sent one.
    pub scope: Option<InstrumentationScope>,
    /// The span itself.
    pub span: Span,
}

impl ReceivedSpan {
    /// The span's string attribute `key`.
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        attribute_str(&self.span.attributes, key)
    }

    /// The span's integer attribute `key`.
    pub fn attribute_int(&self, key: &str) -> Option<i64> {
        attribute_int(&self.span.attributes, key)
    }

    /// The `service.name` of the resource.
    pub fn service_name(&self) -> Option<&str> {
        attribute_str(&self.resource, SERVICE_NAME)
    }

    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        hex_id(&self.span.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id(&self) -> String {
        hex_id(&self.span.span_id)
    }

    /// The parent's span id in hex, or `None` for a root span.
    pub fn parent_span_id(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex_id(&self.span.parent_span_id))
    }
}

/// One received log record, with the resource and scope it was exported under.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedLog {
    /// Attributes of the resource: `service.name` and the like.
    pub resource: Vec<KeyValue>,
    /// The instrumentation scope (logger name), if the exporter sent one.
    pub scope: Option<InstrumentationScope>,
    /// The log record itself.
    pub record: LogRecord,
}

impl ReceivedLog {
    /// The record's string attribute `key`.
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        attribute_str(&self.record.attributes, key)
    }

    /// The record's integer attribute `key`.
    pub fn attribute_int(&self, key: &str) -> Option<i64> {
        attribute_int(&self.record.attributes, key)
    }

    /// The `service.name` of the resource.
    pub fn service_name(&self) -> Option<&str> {
        attribute_str(&self.resource, SERVICE_NAME)
    }

    /// The body, if it is a string (the message of a `tracing` event).
    pub fn body_str(&self) -> Option<&str> {
        match self.record.body.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s),
            _ => None,
        }
    }

    /// The trace id in hex, or `None` when the record was emitted outside any span.
    pub fn trace_id(&self) -> Option<String> {
        (!self.record.trace_id.is_empty()).then(|| hex_id(&self.record.trace_id))
    }
}

/// Appends every span of `request` to `out`, each with its resource and scope.
pub(crate) fn flatten_spans(request: &ExportTraceServiceRequest, out: &mut Vec<ReceivedSpan>) {
    for resource_spans in &request.resource_spans {
        let resource = resource_attributes(resource_spans.resource.as_ref());
        for scope_spans in &resource_spans.scope_spans {
            out.extend(scope_spans.spans.iter().map(|span| ReceivedSpan {
                resource: resource.clone(),
                scope: scope_spans.scope.clone(),
                span: span.clone(),
            }));
        }
    }
}

/// Appends every log record of `request` to `out`, each with its resource and scope.
pub(crate) fn flatten_logs(request: &ExportLogsServiceRequest, out: &mut Vec<ReceivedLog>) {
    for resource_logs in &request.resource_logs {
        let resource = resource_attributes(resource_logs.resource.as_ref());
        for scope_logs in &resource_logs.scope_logs {
            out.extend(scope_logs.log_records.iter().map(|record| ReceivedLog {
                resource: resource.clone(),
                scope: scope_logs.scope.clone(),
                record: record.clone(),
            }));
        }
    }
}

/// Number of spans in a request, without copying them.
pub(crate) fn span_count(request: &ExportTraceServiceRequest) -> usize {
    let scopes = request.resource_spans.iter().flat_map(|r| &r.scope_spans);
    scopes.map(|s| s.spans.len()).sum()
}

/// Number of log records in a request, without copying them.
pub(crate) fn log_count(request: &ExportLogsServiceRequest) -> usize {
    let scopes = request.resource_logs.iter().flat_map(|r| &r.scope_logs);
    scopes.map(|s| s.log_records.len()).sum()
}

/// Number of data points in a metrics request, without copying them.
pub(crate) fn metric_point_count(request: &ExportMetricsServiceRequest) -> usize {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let scopes = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics);
    let metrics = scopes.flat_map(|s| &s.metrics);
    metrics
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        })
        .sum()
}

fn resource_attributes(resource: Option<&Resource>) -> Vec<KeyValue> {
    resource.map(|r| r.attributes.clone()).unwrap_or_default()
}

//! Counting what an export request holds before decoding it, so that a small body cannot make
//! the decoder allocate gigabytes.
//!
//! [`check_protobuf`] walks the protobuf wire format of an `Export*ServiceRequest` without
//! allocating: it follows only the fields that hold repeated messages (groups, spans, log
//! records, events, links, metrics, data points, exemplars, attributes and nested values) and
//! skips every other field by its
//! length. It counts them against the [`Limits`] and stops at the first one over. A body it
//! cannot parse passes: the decoder that runs next refuses it with its own error.
//!
//! [`check_json`] bounds an OTLP/JSON body the cheap way, by its objects and nesting, before
//! `serde_json` decodes it; the decoded request is then re-encoded and walked like protobuf.

use super::files::Signal;
use super::limits::{LimitError, Limits};

/// The messages of the OTLP schema that the walk descends into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    TraceRequest,
    LogsRequest,
    MetricsRequest,
    ResourceSpans,
    ResourceLogs,
    ResourceMetrics,
    Resource,
    ScopeSpans,
    ScopeLogs,
    ScopeMetrics,
    Metric,
    /// A gauge or a sum: its data points are number points.
    Numbers,
    Histogram,
    ExponentialHistogram,
    Summary,
    NumberPoint,
    HistogramPoint,
    ExponentialPoint,
    SummaryPoint,
    Exemplar,
    /// The positive or negative buckets of an exponential histogram point.
    Buckets,
    Scope,
    Span,
    Event,
    Link,
    LogRecord,
    KeyValue,
    AnyValue,
    ArrayValue,
    KvList,
}

impl Node {
    /// The message type of field `field`, if it is one to descend into (field numbers from
    /// the OTLP `.proto` files).
    fn child(self, field: u64) -> Option<Node> {
        use Node::*;
        Some(match (self, field) {
            (TraceRequest, 1) => ResourceSpans,
            (LogsRequest, 1) => ResourceLogs,
            (MetricsRequest, 1) => ResourceMetrics,
            (ResourceSpans | ResourceLogs | ResourceMetrics, 1) => Resource,
            (ResourceSpans, 2) => ScopeSpans,
            (ResourceLogs, 2) => ScopeLogs,
            (ResourceMetrics, 2) => ScopeMetrics,
            (ScopeSpans | ScopeLogs | ScopeMetrics, 1) => Scope,
            (ScopeMetrics, 2) => Metric,
            (Metric, 5 | 7) => Numbers,
            (Metric, 9) => Histogram,
            (Metric, 10) => ExponentialHistogram,
            (Metric, 11) => Summary,
            (Numbers, 1) => NumberPoint,
            (Histogram, 1) => HistogramPoint,
            (ExponentialHistogram, 1) => ExponentialPoint,
            (Summary, 1) => SummaryPoint,
            (NumberPoint, 5) | (HistogramPoint, 8) | (ExponentialPoint, 11) => Exemplar,
            (ExponentialPoint, 8 | 9) => Buckets,
            (Metric, 12) | (NumberPoint | SummaryPoint | Exemplar, 7) => KeyValue,
            (HistogramPoint, 9) | (ExponentialPoint, 1) => KeyValue,
            (ScopeSpans, 2) => Span,
            (ScopeLogs, 2) => LogRecord,
            (Span, 11) => Event,
            (Span, 13) => Link,
            (Resource, 1) | (Scope, 3) | (Span, 9) | (Event, 3) | (Link, 4) => KeyValue,
            (LogRecord, 6) | (KvList, 1) => KeyValue,
            (KeyValue, 2) | (LogRecord, 5) | (ArrayValue, 1) => AnyValue,
            (AnyValue, 5) => ArrayValue,
            (AnyValue, 6) => KvList,
            _ => return None,
        })
    }

    /// Whether the node starts a new owner of attributes (and, for spans, of events and links).
    fn owns_attributes(self) -> bool {
        use Node::*;
        matches!(
            self,
            Resource
                | Scope
                | Span
                | Event
                | Link
                | LogRecord
                | Metric
                | NumberPoint
                | HistogramPoint
                | ExponentialPoint
                | SummaryPoint
                | Exemplar
        )
    }
}

/// Per-item counters, fresh for each span, log record, event, link, resource and scope.
#[derive(Default)]
struct Owner {
    attributes: usize,
    events: usize,
    links: usize,
}

/// Why the walk stopped early.
enum Stop {
    Limit(LimitError),
    /// Not valid protobuf: left for the decoder to report.
    Malformed,
}

impl From<LimitError> for Stop {
    fn from(error: LimitError) -> Self {
        Self::Limit(error)
    }
}

/// Checks a protobuf `Export*ServiceRequest` of `signal` against `limits` without decoding it.
pub(crate) fn check_protobuf(
    signal: Signal,
    body: &[u8],
    limits: &Limits,
) -> Result<(), LimitError> {
    let root = match signal {
        Signal::Traces => Node::TraceRequest,
        Signal::Logs => Node::LogsRequest,
        Signal::Metrics => Node::MetricsRequest,
    };
    let mut walk = Walk {
        limits,
        items: 0,
        attributes: 0,
        buckets: 0,
    };
    match walk.message(root, body, 1, &mut Owner::default()) {
        Ok(()) | Err(Stop::Malformed) => Ok(()),
        Err(Stop::Limit(error)) => Err(error),
    }
}

/// Request-wide counters of one walk.
struct Walk<'a> {
    limits: &'a Limits,
    items: usize,
    attributes: usize,
    buckets: usize,
}

impl Walk<'_> {
    /// Walks the fields of one message of type `node`.
    fn message(
        &mut self,
        node: Node,
        mut bytes: &[u8],
        depth: usize,
        owner: &mut Owner,
    ) -> Result<(), Stop> {
        if depth > self.limits.max_depth {
            return Err(LimitError::Depth {
                limit: self.limits.max_depth,
            }
            .into());
        }
        while !bytes.is_empty() {
            let key = varint(&mut bytes)?;
            let (field, wire_type) = (key >> 3, key & 7);
            if node == Node::Buckets && field == 2 && wire_type == 2 {
                let packed = length_delimited(&mut bytes)?;
                self.count_buckets(packed)?;
                continue;
            }
            let Some(child) = node.child(field).filter(|_| wire_type == 2) else {
                skip(&mut bytes, wire_type)?;
                continue;
            };
            let inner = length_delimited(&mut bytes)?;
            self.count(node, child, owner)?;
            if child.owns_attributes() {
                self.message(child, inner, depth + 1, &mut Owner::default())?;
            } else {
                self.message(child, inner, depth + 1, owner)?;
            }
        }
        Ok(())
    }

    /// Counts one child message of `parent` against the limits. An attribute's own value is
    /// part of the attribute; the elements of an array value count one each.
    fn count(&mut self, parent: Node, child: Node, owner: &mut Owner) -> Result<(), LimitError> {
        let l = self.limits;
        match child {
            Node::AnyValue if parent != Node::ArrayValue => Ok(()),
            Node::ResourceSpans
            | Node::ResourceLogs
            | Node::ScopeSpans
            | Node::ScopeLogs
            | Node::Span
            | Node::LogRecord
            | Node::ResourceMetrics
            | Node::ScopeMetrics
            | Node::Metric
            | Node::NumberPoint
            | Node::HistogramPoint
            | Node::ExponentialPoint
            | Node::SummaryPoint
            | Node::Exemplar => bump(&mut self.items, l.max_items_per_request, |limit| {
                LimitError::Items { limit }
            }),
            Node::KeyValue | Node::AnyValue => {
                bump(&mut owner.attributes, l.max_attributes_per_item, |limit| {
                    LimitError::AttributesPerItem { limit }
                })?;
                self.request_attribute()
            }
            Node::Event => {
                bump(&mut owner.events, l.max_events_per_span, |limit| {
                    LimitError::Events { limit }
                })?;
                self.request_attribute()
            }
            Node::Link => {
                bump(&mut owner.links, l.max_links_per_span, |limit| {
                    LimitError::Links { limit }
                })?;
                self.request_attribute()
            }
            Node::TraceRequest
            | Node::LogsRequest
            | Node::MetricsRequest
            | Node::Numbers
            | Node::Histogram
            | Node::ExponentialHistogram
            | Node::Summary
            | Node::Buckets
            | Node::Resource
            | Node::Scope
            | Node::ArrayValue
            | Node::KvList => Ok(()),
        }
    }

    /// Counts the values of a packed `bucket_counts` field: each varint ends with the one
    /// byte that has no continuation bit.
    fn count_buckets(&mut self, packed: &[u8]) -> Result<(), Stop> {
        let limit = self.limits.max_buckets_per_request;
        let values = packed.iter().filter(|b| **b & 0x80 == 0).count();
        self.buckets = self.buckets.saturating_add(values);
        if self.buckets > limit {
            return Err(LimitError::Buckets { limit }.into());
        }
        Ok(())
    }

    fn request_attribute(&mut self) -> Result<(), LimitError> {
        let limit = self.limits.max_attributes_per_request;
        bump(&mut self.attributes, limit, |limit| {
            LimitError::AttributesPerRequest { limit }
        })
    }
}

/// Adds one to `counter`, or fails when that passes `limit`.
fn bump(
    counter: &mut usize,
    limit: usize,
    error: impl FnOnce(usize) -> LimitError,
) -> Result<(), LimitError> {
    *counter += 1;
    if *counter > limit {
        Err(error(limit))
    } else {
        Ok(())
    }
}

/// Reads a base-128 varint off the front of `bytes`.
fn varint(bytes: &mut &[u8]) -> Result<u64, Stop> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(Stop::Malformed)?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Stop::Malformed)
}

/// Takes a length-delimited field's payload off the front of `bytes`.
fn length_delimited<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], Stop> {
    let len = usize::try_from(varint(bytes)?).map_err(|_| Stop::Malformed)?;
    if len > bytes.len() {
        return Err(Stop::Malformed);
    }
    let (payload, rest) = bytes.split_at(len);
    *bytes = rest;
    Ok(payload)
}

/// Skips one field value of `wire_type`.
fn skip(bytes: &mut &[u8], wire_type: u64) -> Result<(), Stop> {
    let width = match wire_type {
        0 => return varint(bytes).map(drop),
        1 => 8,
        2 => return length_delimited(bytes).map(drop),
        5 => 4,
        _ => return Err(Stop::Malformed),
    };
    *bytes = bytes.get(width..).ok_or(Stop::Malformed)?;
    Ok(())
}

/// Bounds an OTLP/JSON body before it is decoded: its objects and arrays may number at most
/// twice the items and attributes a request may hold, and nest at most twice
/// [`Limits::max_depth`] deep (JSON adds an array level to each repeated field).
pub(crate) fn check_json(body: &[u8], limits: &Limits) -> Result<(), LimitError> {
    let max_values = (limits.max_items_per_request)
        .saturating_add(limits.max_attributes_per_request)
        .saturating_mul(2);
    let max_depth = limits.max_depth.saturating_mul(2);
    let (mut values, mut depth, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in body {
        if in_string {
            (in_string, escaped) = string_state(byte, escaped);
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(LimitError::Depth {
                        limit: limits.max_depth,
                    });
                }
                bump(&mut values, max_values, |_| LimitError::Items {
                    limit: limits.max_items_per_request,
                })?;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The string state after `byte` inside a JSON string: (still in the string, next is escaped).
fn string_state(byte: u8, escaped: bool) -> (bool, bool) {
    match (escaped, byte) {
        (true, _) => (true, false),
        (false, b'\\') => (true, true),
        (false, b'"') => (false, false),
        (false, _) => (true, false),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

    use super::*;

    fn request(spans: Vec<Span>) -> Vec<u8> {
        let scope = ScopeSpans {
            spans,
            ..Default::default()
        };
        let resource = ResourceSpans {
            scope_spans: vec![scope],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![resource],
        }
        .encode_to_vec()
    }

    fn attribute(value: any_value::Value) -> KeyValue {
        KeyValue {
            key: "k".into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn metrics_request(points: usize, attributes: usize) -> Vec<u8> {
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        use opentelemetry_proto::tonic::metrics::v1::{
            Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics, metric,
        };
        let point = HistogramDataPoint {
            attributes: vec![attribute(any_value::Value::IntValue(1)); attributes],
            ..Default::default()
        };
        let histogram = Histogram {
            data_points: vec![point; points],
            ..Default::default()
        };
        let metric = Metric {
            data: Some(metric::Data::Histogram(histogram)),
            ..Default::default()
        };
        let scope = ScopeMetrics {
            metrics: vec![metric],
            ..Default::default()
        };
        let resource = ResourceMetrics {
            scope_metrics: vec![scope],
            ..Default::default()
        };
        ExportMetricsServiceRequest {
            resource_metrics: vec![resource],
        }
        .encode_to_vec()
    }

    #[test]
    fn metric_data_points_count_as_items_and_their_attributes_per_point() {
        let limits = Limits {
            max_items_per_request: 13,
            max_attributes_per_item: 4,
            ..Limits::default()
        };
        // The resource group, the scope group and the metric take three.
        let ok = metrics_request(10, 4);
        assert_eq!(check_protobuf(Signal::Metrics, &ok, &limits), Ok(()));
        assert_eq!(
            check_protobuf(Signal::Metrics, &metrics_request(11, 1), &limits),
            Err(LimitError::Items { limit: 13 })
        );
        assert_eq!(
            check_protobuf(Signal::Metrics, &metrics_request(1, 5), &limits),
            Err(LimitError::AttributesPerItem { limit: 4 })
        );
    }

    #[test]
    fn exponential_histogram_buckets_are_counted_before_decoding() {
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
        use opentelemetry_proto::tonic::metrics::v1::{
            ExponentialHistogram, ExponentialHistogramDataPoint, Metric, ResourceMetrics,
            ScopeMetrics, metric,
        };
        let body = |buckets: usize| {
            let point = ExponentialHistogramDataPoint {
                positive: Some(Buckets {
                    offset: 0,
                    bucket_counts: vec![1; buckets],
                }),
                ..Default::default()
            };
            let histogram = ExponentialHistogram {
                data_points: vec![point],
                ..Default::default()
            };
            let metric = Metric {
                data: Some(metric::Data::ExponentialHistogram(histogram)),
                ..Default::default()
            };
            let scope = ScopeMetrics {
                metrics: vec![metric],
                ..Default::default()
            };
            ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    scope_metrics: vec![scope],
                    ..Default::default()
                }],
            }
            .encode_to_vec()
        };
        let limits = Limits {
            max_buckets_per_request: 100,
            ..Limits::default()
        };
        assert_eq!(check_protobuf(Signal::Metrics, &body(100), &limits), Ok(()));
        assert_eq!(
            check_protobuf(Signal::Metrics, &body(101), &limits),
            Err(LimitError::Buckets { limit: 100 })
        );
    }

    #[test]
    fn spans_are_counted_with_their_groups() {
        let limits = Limits {
            max_items_per_request: 12,
            ..Limits::default()
        };
        let ok = request(vec![Span::default(); 10]);
        assert_eq!(check_protobuf(Signal::Traces, &ok, &limits), Ok(()));
        let over = request(vec![Span::default(); 11]);
        assert_eq!(
            check_protobuf(Signal::Traces, &over, &limits),
            Err(LimitError::Items { limit: 12 })
        );
    }

    #[test]
    fn nested_values_count_as_attributes_and_depth() {
        let array = any_value::Value::ArrayValue(ArrayValue {
            values: vec![AnyValue::default(); 3],
        });
        let span = Span {
            attributes: vec![attribute(array)],
            ..Default::default()
        };
        let body = request(vec![span]);
        let limits = Limits {
            max_attributes_per_item: 3,
            ..Limits::default()
        };
        assert_eq!(
            check_protobuf(Signal::Traces, &body, &limits),
            Err(LimitError::AttributesPerItem { limit: 3 })
        );
        let shallow = Limits {
            max_depth: 7,
            ..Limits::default()
        };
        assert_eq!(
            check_protobuf(Signal::Traces, &body, &shallow),
            Err(LimitError::Depth { limit: 7 })
        );
        assert_eq!(
            check_protobuf(Signal::Traces, &body, &Limits::default()),
            Ok(())
        );
    }

    #[test]
    fn garbage_is_left_to_the_decoder() {
        assert_eq!(
            check_protobuf(Signal::Logs, b"\xff\xff\xff", &Limits::default()),
            Ok(())
        );
    }

    #[test]
    fn json_objects_and_depth_are_bounded() {
        let limits = Limits {
            max_items_per_request: 2,
            max_attributes_per_request: 2,
            max_depth: 2,
            ..Limits::default()
        };
        assert_eq!(check_json(br#"{"a":["{{{{{{"]}"#, &limits), Ok(()));
        assert!(check_json(b"[[[[[", &limits).is_err());
        assert!(check_json(b"[{},{},{},{},{},{},{},{},{}]", &limits).is_err());
    }
}

//! `ExportTraceServiceRequest` written straight from the SDK's [`SpanData`]
//! (`opentelemetry/proto/trace/v1/trace.proto`).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{Event, Link, SpanId, SpanKind, Status};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::common::{key_value, resource, scope};
use super::protobuf::{Encoded, Writer};

/// `Span.flags`: bit 8 says whether the parent's remoteness is known, bit 9 that it is remote.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// One ended span, as a `Span` of a `ScopeSpans`: what a batch holds of it ([`super::SpanBatch`]
/// writes it on the thread that ended the span). Kept out of line, so that its cost has a name
/// in a profile (the components benchmark reads it).
#[inline(never)]
pub(crate) fn encode_span(w: &mut Writer, data: &SpanData) {
    span(w, 2, data);
}

/// The request exporting a batch's spans on behalf of `res`: each scope with its spans, as
/// [`encode_span`] wrote them. Kept out of line (the components benchmark reads it).
#[inline(never)]
pub(crate) fn batch_request(res: &Resource, scopes: &[(InstrumentationScope, Vec<u8>)]) -> Encoded {
    // The resource and each scope's header take a few hundred bytes; room for them up front
    // spares a reallocation that would copy the whole batch.
    let size: usize = scopes.iter().map(|(_, spans)| spans.len() + 128).sum();
    let mut w = Writer::request(1024 + size);
    let resource_spans = w.open(1);
    resource(&mut w, 1, res);
    for (scope_of, spans) in scopes {
        let scope_spans = w.open(2);
        scope(&mut w, 1, scope_of, scope_of.name());
        w.raw(spans);
        w.string(3, scope_of.schema_url().unwrap_or_default());
        w.close(scope_spans);
    }
    w.string(3, res.schema_url().unwrap_or_default());
    w.close(resource_spans);
    w.finish()
}

/// The request exporting `batch`, spans grouped by their scope in order of first appearance,
/// as a batch of [`super::SpanBatch`] would send them.
#[cfg(test)]
pub(crate) fn export_request(batch: &[SpanData], res: &Resource) -> Encoded {
    if batch.is_empty() {
        return Writer::request(0).finish();
    }
    let mut scopes: Vec<(InstrumentationScope, Vec<u8>)> = Vec::new();
    for data in batch {
        let at = match scopes
            .iter()
            .position(|(s, _)| *s == data.instrumentation_scope)
        {
            Some(at) => at,
            None => {
                scopes.push((data.instrumentation_scope.clone(), Vec::new()));
                scopes.len() - 1
            }
        };
        let mut w = Writer::appending(std::mem::take(&mut scopes[at].1));
        encode_span(&mut w, data);
        scopes[at].1 = w.into_bytes();
    }
    batch_request(res, &scopes)
}

fn span(w: &mut Writer, field: u32, data: &SpanData) {
    let open = w.open(field);
    let context = &data.span_context;
    w.bytes(1, &context.trace_id().to_bytes());
    w.bytes(2, &context.span_id().to_bytes());
    w.string(3, &context.trace_state().header());
    if data.parent_span_id != SpanId::INVALID {
        w.bytes(4, &data.parent_span_id.to_bytes());
    }
    w.string(5, &data.name);
    w.uint(6, kind(&data.span_kind));
    w.fixed64(7, nanos(data.start_time));
    w.fixed64(8, nanos(data.end_time));
    data.attributes.iter().for_each(|kv| key_value(w, 9, kv));
    w.uint(10, u64::from(data.dropped_attributes_count));
    data.events.iter().for_each(|event| span_event(w, event));
    w.uint(12, u64::from(data.events.dropped_count));
    data.links.iter().for_each(|link| span_link(w, link));
    w.uint(14, u64::from(data.links.dropped_count));
    status(w, &data.status);
    w.fixed32(
        16,
        flags(data.parent_span_is_remote, context.trace_flags().to_u8()),
    );
    w.close(open);
}

fn span_event(w: &mut Writer, event: &Event) {
    let open = w.open(11);
    w.fixed64(1, nanos(event.timestamp));
    w.string(2, &event.name);
    event.attributes.iter().for_each(|kv| key_value(w, 3, kv));
    w.uint(4, u64::from(event.dropped_attributes_count));
    w.close(open);
}

fn span_link(w: &mut Writer, link: &Link) {
    let open = w.open(13);
    let context = &link.span_context;
    w.bytes(1, &context.trace_id().to_bytes());
    w.bytes(2, &context.span_id().to_bytes());
    w.string(3, &context.trace_state().header());
    link.attributes.iter().for_each(|kv| key_value(w, 4, kv));
    w.uint(5, u64::from(link.dropped_attributes_count));
    w.fixed32(6, flags(context.is_remote(), context.trace_flags().to_u8()));
    w.close(open);
}

fn status(w: &mut Writer, status: &Status) {
    let open = w.open(15);
    match status {
        Status::Unset => {}
        Status::Ok => w.uint(3, 1),
        Status::Error { description } => {
            w.string(2, description);
            w.uint(3, 2);
        }
    }
    w.close(open);
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// W3C trace flags in the low byte, with the parent's (or link's) remoteness above.
fn flags(remote: bool, trace_flags: u8) -> u32 {
    let remote = if remote { IS_REMOTE } else { 0 };
    u32::from(trace_flags) | HAS_IS_REMOTE | remote
}

/// Nanoseconds since the epoch; zero for a time before it.
pub(crate) fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::Duration;

    use opentelemetry::trace::{SpanContext, TraceFlags, TraceId, TraceState};
    use opentelemetry::{Array, KeyValue, StringValue, Value};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message;

    use super::*;

    fn context(trace: u128, span: u64, remote: bool) -> SpanContext {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            remote,
            TraceState::from_key_value([("vendor", "value")]).unwrap(),
        )
    }

    /// A span using every field the encoder writes.
    fn full_span(scope_name: &'static str) -> SpanData {
        let start = UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789);
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            "exception",
            start + Duration::from_micros(5),
            vec![KeyValue::new("exception.message", "boom")],
            1,
        ));
        events.dropped_count = 2;
        let mut links = SpanLinks::default();
        links.links.push(Link::new(
            context(7, 8, true),
            vec![KeyValue::new("link.kind", "follows")],
            0,
        ));
        SpanData {
            span_context: context(
                0x0af7651916cd43dd8448eb211c80319c,
                0xb7ad6b7169203331,
                false,
            ),
            parent_span_id: SpanId::from(0x00f067aa0ba902b7),
            parent_span_is_remote: true,
            span_kind: SpanKind::Server,
            name: Cow::Borrowed("POST /orders"),
            start_time: start,
            end_time: start + Duration::from_millis(3),
            attributes: vec![
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("http.response.status_code", 201_i64),
                KeyValue::new("negative", -3_i64),
                KeyValue::new("ratio", 0.25),
                KeyValue::new("zero", 0.0),
                KeyValue::new("retry", false),
                KeyValue::new("empty", ""),
                KeyValue::new(
                    "tags",
                    Value::Array(Array::String(vec![StringValue::from("a"), "b".into()])),
                ),
                KeyValue::new("ints", Value::Array(Array::I64(vec![1, -2]))),
                KeyValue::new("flags", Value::Array(Array::Bool(vec![true, false]))),
                KeyValue::new("reals", Value::Array(Array::F64(vec![1.5]))),
            ],
            dropped_attributes_count: 4,
            events,
            links,
            status: Status::error("declined"),
            instrumentation_scope: InstrumentationScope::builder(scope_name)
                .with_version("1.2.3")
                .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
                .with_attributes([KeyValue::new("scope.attr", 1_i64)])
                .build(),
        }
    }

    fn test_resource() -> Resource {
        Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "checkout"),
                KeyValue::new("service.version", "0.1.0"),
            ])
            .with_schema_url([], "https://opentelemetry.io/schemas/1.30.0")
            .build()
    }

    /// What the SDK's own OTLP exporter sends for `batch`, decoded.
    fn reference(batch: Vec<SpanData>, res: &Resource) -> ExportTraceServiceRequest {
        let resource_spans =
            group_spans_by_resource_and_scope(batch, &ResourceAttributesWithSchema::from(res));
        ExportTraceServiceRequest { resource_spans }
    }

    #[test]
    fn decodes_as_what_the_sdk_exporter_sends() {
        let res = test_resource();
        let mut second = full_span("ordertrail");
        second.status = Status::Ok;
        second.parent_span_id = SpanId::INVALID;
        second.parent_span_is_remote = false;
        second.span_kind = SpanKind::Client;
        let batch = vec![full_span("ordertrail"), second];
        let ours = ExportTraceServiceRequest::decode(export_request(&batch, &res).message())
            .expect("a valid ExportTraceServiceRequest");
        assert_eq!(ours, reference(batch, &res));
    }

    #[test]
    fn spans_of_each_scope_are_grouped_under_it() {
        let res = test_resource();
        let batch = vec![full_span("a"), full_span("b"), full_span("a")];
        let ours = ExportTraceServiceRequest::decode(export_request(&batch, &res).message())
            .expect("a valid ExportTraceServiceRequest");
        let scopes: Vec<(String, usize)> = ours.resource_spans[0]
            .scope_spans
            .iter()
            .map(|s| (s.scope.as_ref().unwrap().name.clone(), s.spans.len()))
            .collect();
        assert_eq!(scopes, [("a".to_owned(), 2), ("b".to_owned(), 1)]);
        let mut expected = reference(batch, &res);
        expected.resource_spans[0].scope_spans.sort_by(|x, y| {
            x.scope
                .as_ref()
                .unwrap()
                .name
                .cmp(&y.scope.as_ref().unwrap().name)
        });
        assert_eq!(ours, expected);
    }

    #[test]
    fn an_empty_batch_is_an_empty_request() {
        assert!(export_request(&[], &test_resource()).message().is_empty());
    }
}

//! [`OtlpLogLayer`]: every event as an OTLP log record, built from the same [`FlatRecord`] as
//! the JSON line.
//!
//! body = message; severity from the level; trace and span id of the active span; attributes =
//! `request_id`, `service`, then the flattened fields. Loki turns each attribute into
//! structured metadata, so `{service_namespace="ordertrail"} | request_id="<id>"` finds one
//! order's records without making the id an index label.
//!
//! The record is written as protobuf on the thread that logged it, straight from the flattened
//! event, into the batch of its target (its scope); the batch goes out from a thread of its
//! own (see the telemetry module's `wire`).

use std::sync::Arc;
use std::time::SystemTime;

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::json::{store_span_fields, update_span_fields};
use super::record::{FlatRecord, with_scratch};
use crate::recorder::{KeptEvent, Marker, ReplaySink};
use crate::telemetry::from_the_exporter;
use crate::telemetry::logs::RecordExport;
use crate::telemetry::wire::RecordView;

/// A `tracing_subscriber` layer turning events into OTLP log records; [`crate::telemetry`]
/// makes it when a logs endpoint is configured.
#[derive(Debug)]
pub struct OtlpLogLayer {
    export: RecordExport,
    service: Arc<str>,
}

impl OtlpLogLayer {
    /// Records into `export`; `service` names records no span names otherwise.
    pub(crate) fn new(export: RecordExport, service: impl Into<Arc<str>>) -> Self {
        Self {
            export,
            service: service.into(),
        }
    }

    /// The flight recorder's way into this output: kept events as log records with their
    /// own timestamp (observed now) and the attributes `replayed`, `replay_trigger` and, when
    /// events were dropped, `replay_dropped`.
    pub fn replay_sink(&self) -> OtlpReplay {
        OtlpReplay(Self {
            export: self.export.clone(),
            service: Arc::clone(&self.service),
        })
    }

    fn emit(&self, event: &Event<'_>, record: &FlatRecord) {
        let meta = event.metadata();
        self.emit_at(
            *meta.level(),
            meta.target(),
            record,
            record.time_or_now(),
            None,
        );
    }

    fn emit_at(
        &self,
        level: Level,
        target: &'static str,
        record: &FlatRecord,
        time: SystemTime,
        marker: Option<&Marker>,
    ) {
        let observed = if marker.is_some() {
            SystemTime::now()
        } else {
            time
        };
        let view = RecordView {
            time,
            observed,
            level,
            record,
            service: &self.service,
            marker,
        };
        self.export.push_record(target, &view);
    }
}

/// An [`OtlpLogLayer`]'s output for the flight recorder ([`OtlpLogLayer::replay_sink`]).
#[derive(Debug)]
pub struct OtlpReplay(OtlpLogLayer);

impl ReplaySink for OtlpReplay {
    fn replay(&self, event: &KeptEvent, marker: &Marker) {
        let record = event.record();
        self.0.emit_at(
            event.level(),
            event.target(),
            &record,
            event.time(),
            Some(marker),
        );
    }
}

impl<S> Layer<S> for OtlpLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        store_span_fields(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        update_span_fields(id, values, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The exporter's own events would export the export, forever.
        if from_the_exporter(event.metadata().target()) {
            return;
        }
        with_scratch(|scratch| self.emit(event, scratch.flat.of(event, &ctx)));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use opentelemetry::trace::TraceContextExt as _;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::logs::v1::LogRecord;
    use tracing::info;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::correlation::{self, RequestId};
    use crate::propagation::tests::tracer;
    use crate::telemetry::wire::receiver::Receiver;

    /// An OTLP log layer for service `orders`, exporting to a real receiver.
    fn otlp_layer() -> (OtlpLogLayer, RecordExport, Receiver) {
        let receiver = Receiver::start();
        let export = receiver.record_export();
        (
            OtlpLogLayer::new(export.clone(), "orders"),
            export,
            receiver,
        )
    }

    /// What the receiver got once `export` sent everything.
    fn received(export: &RecordExport, receiver: &Receiver) -> Vec<LogRecord> {
        export.shutdown(Duration::from_secs(5)).expect("flushed");
        receiver.records()
    }

    fn attribute(record: &LogRecord, key: &str) -> Option<Value> {
        let kv = record.attributes.iter().find(|kv| kv.key == key)?;
        kv.value.clone()?.value
    }

    fn text(value: &str) -> Option<Value> {
        Some(Value::StringValue(value.to_owned()))
    }

    #[tokio::test]
    async fn a_record_carries_the_request_id_service_and_flattened_fields() {
        let (layer, export, receiver) = otlp_layer();
        let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        let id: RequestId = "order-42".parse().unwrap();
        correlation::scope(id, async {
            let span = tracing::info_span!(
                "request",
                service = "orders-api",
                http.request.method = "POST",
                server.port = 8080,
                order.id = 7,
            );
            span.in_scope(|| tracing::warn!(note = "paid with 4242424242424242", "placing order"));
        })
        .await;
        let [record] = &received(&export, &receiver)[..] else {
            panic!("expected one record");
        };
        assert_eq!(record.body.clone().unwrap().value, text("placing order"));
        assert_eq!(
            (record.severity_number, record.severity_text.as_str()),
            (13, "WARN")
        );
        assert_eq!(attribute(record, "request_id"), text("order-42"));
        assert_eq!(attribute(record, "service"), text("orders-api"));
        assert_eq!(attribute(record, "method"), text("POST"));
        assert_eq!(attribute(record, "order.id"), Some(Value::IntValue(7)));
        assert_eq!(attribute(record, "server.port"), None);
        let Some(Value::StringValue(note)) = attribute(record, "note") else {
            panic!("no note");
        };
        assert!(note.starts_with("paid with "), "{note}");
        assert!(
            note.chars().filter(char::is_ascii_digit).count() < 13,
            "{note}"
        );
    }

    #[test]
    fn a_record_inside_a_traced_span_carries_its_trace_context() {
        let (layer, export, receiver) = otlp_layer();
        let (tracer, _ended) = tracer();
        let otel = tracing_opentelemetry::layer().with_tracer(tracer);
        let subscriber = tracing_subscriber::registry().with(otel).with(layer);
        let expected = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request");
            span.in_scope(|| info!("inside"));
            info!("outside");
            span.context().span().span_context().clone()
        });
        let records = received(&export, &receiver);
        assert_eq!(records[0].trace_id, expected.trace_id().to_bytes());
        assert_eq!(records[0].span_id, expected.span_id().to_bytes());
        assert!(records[1].trace_id.is_empty());
        assert_eq!(attribute(&records[1], "service"), text("orders"));
    }

    #[test]
    fn a_replayed_record_has_the_events_time_and_the_marker() {
        use crate::recorder::{Marker, ReplaySink as _, Trigger};
        let kept =
            crate::recorder::kept_tests::kept_events(|| tracing::debug!(amount = 12, "charging"));
        let (layer, export, receiver) = otlp_layer();
        let marker = Marker {
            trigger: Trigger::DownstreamFailed,
            dropped: 3,
        };
        layer.replay_sink().replay(&kept[0], &marker);
        let [record] = &received(&export, &receiver)[..] else {
            panic!("expected one record");
        };
        let kept_at = kept[0]
            .time()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert_eq!(record.time_unix_nano, kept_at.as_nanos() as u64);
        assert!(record.observed_time_unix_nano >= record.time_unix_nano);
        assert_eq!(record.severity_number, 5);
        assert_eq!(attribute(record, "amount"), Some(Value::IntValue(12)));
        assert_eq!(attribute(record, "replayed"), Some(Value::BoolValue(true)));
        assert_eq!(
            attribute(record, "replay_trigger"),
            text("downstream_failed")
        );
        assert_eq!(
            attribute(record, "replay_dropped"),
            Some(Value::IntValue(3))
        );
    }
}

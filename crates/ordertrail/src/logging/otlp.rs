//! [`OtlpLogLayer`]: every event as an OTLP log record, built from the same [`FlatRecord`] as
//! the JSON line.
//!
//! body = message; severity from the level; trace and span id of the active span; attributes =
//! `request_id`, `service`, `target`, then the flattened fields. Loki turns each attribute into
//! structured metadata, so `{service_namespace="ordertrail"} | request_id="<id>"` finds one
//! order's records without making the id an index label.

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord, Logger, Severity};
use opentelemetry::trace::TraceFlags;
use opentelemetry_sdk::logs::SdkLogger;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::json::{store_span_fields, update_span_fields};
use super::record::{FlatRecord, with_scratch};
use super::value::FieldValue;
use crate::recorder::{KeptEvent, Marker, ReplaySink};

/// A `tracing_subscriber` layer emitting OTLP log records through an SDK logger.
#[derive(Debug)]
pub struct OtlpLogLayer {
    logger: SdkLogger,
    service: Arc<str>,
}

impl OtlpLogLayer {
    /// Emits through `logger`; `service` names records no span names otherwise.
    pub fn new(logger: SdkLogger, service: impl Into<Arc<str>>) -> Self {
        Self {
            logger,
            service: service.into(),
        }
    }

    /// The flight recorder's way into this output: kept events as log records with their
    /// own timestamp (observed now) and the attributes `replayed`, `replay_trigger` and, when
    /// events were dropped, `replay_dropped`.
    pub fn replay_sink(&self) -> OtlpReplay {
        OtlpReplay(Self {
            logger: self.logger.clone(),
            service: Arc::clone(&self.service),
        })
    }

    fn emit(&self, event: &Event<'_>, record: &FlatRecord) {
        let meta = event.metadata();
        let now = SystemTime::now();
        self.emit_at(*meta.level(), meta.target(), record, now, None);
    }

    fn emit_at(
        &self,
        level: Level,
        target: &'static str,
        record: &FlatRecord,
        time: SystemTime,
        marker: Option<&Marker>,
    ) {
        let mut out = self.logger.create_log_record();
        out.set_timestamp(time);
        out.set_observed_timestamp(SystemTime::now());
        out.set_severity_number(severity(level));
        out.set_severity_text(level.as_str());
        out.set_target(target);
        if let Some(message) = &record.message {
            out.set_body(any_value(message));
        }
        if let Some(trace) = &record.trace {
            out.set_trace_context(
                trace.trace_id(),
                trace.span_id(),
                Some(TraceFlags::new(trace.trace_flags().to_u8())),
            );
        }
        if let Some(id) = &record.request_id {
            out.add_attribute(
                "request_id",
                AnyValue::String(Arc::clone(id.as_arc()).into()),
            );
        }
        let service = record.service.as_ref().unwrap_or(&self.service);
        out.add_attribute("service", AnyValue::String(Arc::clone(service).into()));
        for (name, value) in &record.fields {
            out.add_attribute(*name, any_value(value));
        }
        if let Some(marker) = marker {
            out.add_attribute("replayed", AnyValue::Boolean(true));
            out.add_attribute("replay_trigger", marker.trigger.as_str());
            if marker.dropped > 0 {
                let dropped = i64::try_from(marker.dropped).unwrap_or(i64::MAX);
                out.add_attribute("replay_dropped", AnyValue::Int(dropped));
            }
        }
        self.logger.emit(out);
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
        with_scratch(|scratch| self.emit(event, scratch.flat.of(event, &ctx)));
    }
}

fn severity(level: Level) -> Severity {
    match level {
        Level::ERROR => Severity::Error,
        Level::WARN => Severity::Warn,
        Level::INFO => Severity::Info,
        Level::DEBUG => Severity::Debug,
        Level::TRACE => Severity::Trace,
    }
}

fn any_value(value: &FieldValue) -> AnyValue {
    match value {
        FieldValue::Str(s) => AnyValue::String(Arc::clone(s).into()),
        FieldValue::I64(v) => AnyValue::Int(*v),
        FieldValue::U64(v) => {
            i64::try_from(*v).map_or_else(|_| AnyValue::Double(*v as f64), AnyValue::Int)
        }
        FieldValue::F64(v) => AnyValue::Double(*v),
        FieldValue::Bool(v) => AnyValue::Boolean(*v),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, PoisonError};
    use std::time::Duration;

    use opentelemetry::InstrumentationScope;
    use opentelemetry::logs::LoggerProvider as _;
    use opentelemetry::trace::TraceContextExt as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord, SdkLoggerProvider};
    use tracing::info;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::correlation::{self, RequestId};
    use crate::propagation::tests::tracer;

    /// The log records emitted, as an exporter would receive them.
    #[derive(Debug, Clone, Default)]
    struct Emitted(Arc<Mutex<Vec<SdkLogRecord>>>);

    impl Emitted {
        fn records(&self) -> Vec<SdkLogRecord> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }
    }

    impl LogProcessor for Emitted {
        fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
            let mut records = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            records.push(record.clone());
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    /// An OTLP log layer for service `orders` and where its records go.
    fn otlp_layer() -> (OtlpLogLayer, Emitted) {
        let emitted = Emitted::default();
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(emitted.clone())
            .build();
        (
            OtlpLogLayer::new(provider.logger("ordertrail-test"), "orders"),
            emitted,
        )
    }

    fn attribute<'a>(record: &'a SdkLogRecord, key: &str) -> Option<&'a AnyValue> {
        let found = record.attributes_iter().find(|(k, _)| k.as_str() == key);
        found.map(|(_, value)| value)
    }

    fn text(value: &str) -> AnyValue {
        AnyValue::String(value.to_owned().into())
    }

    #[tokio::test]
    async fn a_record_carries_the_request_id_service_and_flattened_fields() {
        let (layer, emitted) = otlp_layer();
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
        let [record] = &emitted.records()[..] else {
            panic!("expected one record");
        };
        assert_eq!(record.body(), Some(&text("placing order")));
        assert_eq!(record.severity_number(), Some(Severity::Warn));
        assert_eq!(attribute(record, "request_id"), Some(&text("order-42")));
        assert_eq!(attribute(record, "service"), Some(&text("orders-api")));
        assert_eq!(attribute(record, "method"), Some(&text("POST")));
        assert_eq!(attribute(record, "order.id"), Some(&AnyValue::Int(7)));
        assert_eq!(attribute(record, "server.port"), None);
        let Some(AnyValue::String(note)) = attribute(record, "note") else {
            panic!("no note");
        };
        assert!(note.as_str().starts_with("paid with "), "{note}");
        assert!(
            note.as_str().chars().filter(char::is_ascii_digit).count() < 13,
            "{note}"
        );
    }

    #[test]
    fn a_record_inside_a_traced_span_carries_its_trace_context() {
        let (layer, emitted) = otlp_layer();
        let (tracer, _ended) = tracer();
        let otel = tracing_opentelemetry::layer().with_tracer(tracer);
        let subscriber = tracing_subscriber::registry().with(otel).with(layer);
        let expected = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request");
            span.in_scope(|| info!("inside"));
            info!("outside");
            span.context().span().span_context().clone()
        });
        let records = emitted.records();
        let inside = records[0].trace_context().expect("a trace context");
        assert_eq!(
            (inside.trace_id, inside.span_id),
            (expected.trace_id(), expected.span_id())
        );
        assert!(records[1].trace_context().is_none());
        assert_eq!(attribute(&records[1], "service"), Some(&text("orders")));
    }

    #[test]
    fn a_replayed_record_has_the_events_time_and_the_marker() {
        use crate::recorder::{Marker, ReplaySink as _, Trigger};
        let kept =
            crate::recorder::kept_tests::kept_events(|| tracing::debug!(amount = 12, "charging"));
        let (layer, emitted) = otlp_layer();
        let marker = Marker {
            trigger: Trigger::DownstreamFailed,
            dropped: 3,
        };
        layer.replay_sink().replay(&kept[0], &marker);
        let [record] = &emitted.records()[..] else {
            panic!("expected one record");
        };
        assert_eq!(record.timestamp(), Some(kept[0].time()));
        assert_eq!(record.severity_number(), Some(Severity::Debug));
        assert_eq!(attribute(record, "amount"), Some(&AnyValue::Int(12)));
        assert_eq!(
            attribute(record, "replayed"),
            Some(&AnyValue::Boolean(true))
        );
        assert_eq!(
            attribute(record, "replay_trigger"),
            Some(&text("downstream_failed"))
        );
        assert_eq!(attribute(record, "replay_dropped"), Some(&AnyValue::Int(3)));
    }
}

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

    fn emit(&self, event: &Event<'_>, record: &FlatRecord) {
        let meta = event.metadata();
        let mut out = self.logger.create_log_record();
        let now = SystemTime::now();
        out.set_timestamp(now);
        out.set_observed_timestamp(now);
        out.set_severity_number(severity(*meta.level()));
        out.set_severity_text(meta.level().as_str());
        out.set_target(meta.target());
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
        self.logger.emit(out);
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
        with_scratch(|scratch| {
            scratch.record.fill(event, &ctx);
            self.emit(event, &scratch.record);
        });
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

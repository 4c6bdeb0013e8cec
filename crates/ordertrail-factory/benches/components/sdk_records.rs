//! [`SdkRecords`]: the SDK's way to the same OTLP log records ordertrail writes itself: each
//! event flattened as ordertrail flattens it (the public [`FlatRecord`]), built into an SDK
//! log record with the same body, severity, trace context and attributes, and emitted through
//! an SDK logger, so that the SDK's exporter encodes exactly what ordertrail encodes.

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry_sdk::logs::SdkLogger;
use ordertrail::logging::{FieldValue, FlatRecord, SpanFields};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// A layer emitting every event as an SDK log record through `logger`.
pub(crate) struct SdkRecords {
    pub(crate) logger: SdkLogger,
    pub(crate) service: Arc<str>,
}

impl<S> Layer<S> for SdkRecords
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut flat = FlatRecord::default();
        flat.fill(event, &ctx);
        let meta = event.metadata();
        let mut out = self.logger.create_log_record();
        let now = SystemTime::now();
        out.set_timestamp(now);
        out.set_observed_timestamp(now);
        out.set_severity_number(severity(*meta.level()));
        out.set_severity_text(meta.level().as_str());
        out.set_target(meta.target());
        if let Some(message) = &flat.message {
            out.set_body(any_value(message));
        }
        if let Some(trace) = &flat.trace {
            out.set_trace_context(trace.trace_id(), trace.span_id(), Some(trace.trace_flags()));
        }
        if let Some(id) = &flat.request_id {
            out.add_attribute("request_id", id.as_str().to_owned());
        }
        let service = match &flat.service {
            Some(service) => Arc::from(service.as_str()),
            None => Arc::clone(&self.service),
        };
        out.add_attribute("service", AnyValue::String(service.into()));
        for (name, value) in &flat.fields {
            out.add_attribute(*name, any_value(value));
        }
        self.logger.emit(out);
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
        FieldValue::Str(s) => AnyValue::String(s.to_string().into()),
        FieldValue::I64(v) => AnyValue::Int(*v),
        FieldValue::U64(v) => {
            i64::try_from(*v).map_or_else(|_| AnyValue::Double(*v as f64), AnyValue::Int)
        }
        FieldValue::F64(v) => AnyValue::Double(*v),
        FieldValue::Bool(v) => AnyValue::Boolean(*v),
        other => AnyValue::String(format!("{other:?}").into()),
    }
}

//! [`FlatRecord`]: one event with everything its spans know, flattened.

use std::cell::RefCell;
use std::sync::Arc;

use opentelemetry::trace::{SpanContext, TraceContextExt};

use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::value::{EventFields, FieldValue, Fields, SpanFields, upsert};
use crate::correlation::{self, RequestId};

/// Keys written at the top level of every line. A span or event field with one of these names
/// is not repeated among the fields; `request_id` and `service` are lifted from spans.
pub const RESERVED: [&str; 9] = [
    "timestamp",
    "level",
    "target",
    "message",
    "service",
    "pid",
    "request_id",
    "trace_id",
    "span_id",
];

/// The flattened view of one event, built once and read by every output.
///
/// `fields` holds the fields of all enclosing spans, root to leaf, then the event's own; a
/// name that appears twice keeps its first position and its last value, so the event wins over
/// its spans and a child span over its parent.
#[derive(Debug, Default, Clone)]
pub struct FlatRecord {
    /// The event's message (its `message` field).
    pub message: Option<FieldValue>,
    /// The request id: from the nearest span that carries one, else the task-local scope.
    pub request_id: Option<RequestId>,
    /// The `service` field of the nearest span that has one.
    pub service: Option<Arc<str>>,
    /// The active OpenTelemetry span, when the event happens inside a traced span.
    pub trace: Option<SpanContext>,
    /// Every other field, flattened.
    pub fields: Fields,
}

impl FlatRecord {
    /// Refills this record from `event`, reusing its allocations.
    pub fn fill<S>(&mut self, event: &Event<'_>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.clear();
        if let Some(scope) = ctx.event_scope(event) {
            self.fill_spans(scope.from_root());
        }
        let mut visitor = EventFields {
            message: None,
            fields: Some(&mut self.fields),
        };
        event.record(&mut visitor);
        self.message = visitor.message;
        self.finish();
    }

    /// The part every event of the same spans shares: the spans' fields, root to leaf, the
    /// request id, the service and the active trace context. The flight recorder keeps it once
    /// per span and adds each event's own fields with [`add_event`](Self::add_event).
    pub(crate) fn fill_spans<'a, R: LookupSpan<'a> + 'a>(
        &mut self,
        root_to_leaf: impl Iterator<Item = SpanRef<'a, R>>,
    ) {
        self.clear();
        for span in root_to_leaf {
            let ext = span.extensions();
            if let Some(id) = ext.get::<RequestId>() {
                self.request_id = Some(id.clone());
            }
            if let Some(SpanFields(fields)) = ext.get::<SpanFields>() {
                self.add_span_fields(fields);
            }
        }
        self.finish();
    }

    /// Adds an event's message and own fields to a record of its spans.
    pub(crate) fn add_event(&mut self, message: Option<&FieldValue>, fields: &Fields) {
        self.message = message.cloned();
        for (name, value) in fields {
            if !RESERVED.contains(name) {
                upsert(&mut self.fields, name, value.clone());
            }
        }
    }

    /// Drops reserved names; falls back to the task-local id; reads the trace context.
    fn finish(&mut self) {
        self.fields.retain(|(name, _)| !RESERVED.contains(name));
        if self.request_id.is_none() {
            self.request_id = correlation::current();
        }
        self.trace = active_span_context();
    }

    fn add_span_fields(&mut self, fields: &Fields) {
        for (name, value) in fields {
            if *name == "service" {
                if let FieldValue::Str(s) = value {
                    self.service = Some(Arc::clone(s));
                }
            } else {
                upsert(&mut self.fields, name, value.clone());
            }
        }
    }

    fn clear(&mut self) {
        self.message = None;
        self.request_id = None;
        self.service = None;
        self.trace = None;
        self.fields.clear();
    }
}

/// The span context the OpenTelemetry layer activated when the current span was entered.
fn active_span_context() -> Option<SpanContext> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.clone())
}

/// Space reused per thread by the layers that flatten events: the record and the line.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) record: FlatRecord,
    pub(crate) line: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch space; with fresh space when it is already in use (a
/// writer that logs while a line is being written re-enters here) or gone (thread exit).
pub(crate) fn with_scratch(mut f: impl FnMut(&mut Scratch)) {
    let mut ran = false;
    let _ = SCRATCH.try_with(|cell| {
        if let Ok(mut scratch) = cell.try_borrow_mut() {
            f(&mut scratch);
            ran = true;
        }
    });
    if !ran {
        f(&mut Scratch::default());
    }
}

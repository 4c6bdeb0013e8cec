//! [`FlatRecord`]: one event with everything its spans know, flattened.

use std::cell::{Cell, RefCell};
use std::num::NonZeroU64;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, TraceContextExt};

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::json::{apply_span_record, keep_span_fields};
use super::value::{EventFields, FieldValue, Fields, SmolStr, SpanFields, upsert};
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
    pub service: Option<SmolStr>,
    /// The active OpenTelemetry span, when the event happens inside a traced span.
    pub trace: Option<SpanContext>,
    /// Every other field, flattened.
    pub fields: Fields,
    /// When the event happened: read once, when it is flattened, so that its JSON line, its
    /// human line and its OTLP record show the same time. `None` (a record built by hand)
    /// reads the clock when an output writes it.
    pub time: Option<SystemTime>,
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
        self.time = Some(SystemTime::now());
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
                    self.service = Some(s.clone());
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
        self.time = None;
    }

    /// [`time`](Self::time), or now when it was not read.
    pub(crate) fn time_or_now(&self) -> SystemTime {
        self.time.unwrap_or_else(SystemTime::now)
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
    pub(crate) flat: Flat,
    pub(crate) line: Vec<u8>,
}

/// A [`FlatRecord`] and the dispatch it was filled in.
#[derive(Debug, Default)]
pub(crate) struct Flat {
    record: FlatRecord,
    /// The [`EventMark`] number of the event `record` holds; 0 for none.
    event: u64,
}

impl Flat {
    /// `event` flattened: filled by the first output of its dispatch and read by the others
    /// when [`EventMark`]s bracket them, filled by every output otherwise.
    pub(crate) fn of<S>(&mut self, event: &Event<'_>, ctx: &Context<'_, S>) -> &FlatRecord
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let current = DISPATCHING.with(Cell::get);
        if current == 0 || self.event != current {
            self.record.fill(event, ctx);
            self.event = current;
            #[cfg(test)]
            tests::FILLS.with(|fills| fills.set(fills.get() + 1));
        }
        &self.record
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    /// The number of the event being dispatched on this thread between two [`EventMark`]s;
    /// 0 outside them.
    static DISPATCHING: Cell<u64> = const { Cell::new(0) };
    /// The number the next event gets.
    static NEXT_EVENT: Cell<u64> = const { Cell::new(1) };
    /// The span whose fields the opening mark has just stored or updated, while the outputs
    /// after it are told of the same call; `None` outside the marks.
    static KEPT_SPAN: Cell<Option<NonZeroU64>> = const { Cell::new(None) };
}

/// Whether the opening [`EventMark`] already applied the span call the outputs are handling
/// for span `id`, so they need not apply it again.
pub(crate) fn kept_by_marks(id: &Id) -> bool {
    KEPT_SPAN.with(Cell::get) == Some(id.into_non_zero_u64())
}

/// Brackets the log outputs of a layer stack, first and last, so that they flatten each event
/// once between them instead of once each: [`EventMark::Open`] numbers the event being
/// dispatched, [`EventMark::Close`] ends the number's validity, so a layer used outside the
/// marks (or in another subscriber on the same thread) always flattens for itself. An output
/// the first one's filter skipped finds a record of an older number and fills it anew.
///
/// They do the same for span fields: the opening mark stores a new span's fields and applies
/// each `Span::record`, once, for all the outputs between the marks.
///
/// The marks themselves enable nothing and hint no level; the stack gives them the filter of
/// the outputs between them, so that they see the same events and spans (a layer without a
/// filter of its own would make the stack want every span and event of every crate).
#[derive(Debug, Clone, Copy)]
pub(crate) enum EventMark {
    Open,
    Close,
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for EventMark {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::never()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::OFF)
    }

    fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
        let number = match self {
            Self::Open => NEXT_EVENT.with(|next| {
                let number = next.get();
                next.set(number.wrapping_add(1).max(1));
                number
            }),
            Self::Close => 0,
        };
        DISPATCHING.with(|current| current.set(number));
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Self::Open = self {
            keep_span_fields(attrs, id, &ctx);
        }
        self.mark_span(id);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Self::Open = self {
            apply_span_record(id, values, &ctx);
        }
        self.mark_span(id);
    }
}

impl EventMark {
    /// Opens or ends the outputs' view that span `id`'s fields are up to date.
    fn mark_span(self, id: &Id) {
        let kept = match self {
            Self::Open => Some(id.into_non_zero_u64()),
            Self::Close => None,
        };
        KEPT_SPAN.with(|span| span.set(kept));
    }
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

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use tracing_subscriber::Registry;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::propagation::tests::enable_every_callsite;

    thread_local! {
        /// Fills of a [`FlatRecord`] by [`Flat::of`] on this thread.
        pub(super) static FILLS: Cell<u64> = const { Cell::new(0) };
        /// `Span::record` calls applied to stored span fields on this thread.
        pub(crate) static RECORDS_APPLIED: Cell<u64> = const { Cell::new(0) };
    }

    /// An output reading each event through the shared flattening, keeping the `n` field it
    /// saw; when `nested`, it logs an event of its own while handling one (a writer that logs).
    #[derive(Clone, Default)]
    struct Output {
        seen: Arc<Mutex<Vec<String>>>,
        nested: bool,
    }

    impl Output {
        fn seen(&self) -> Vec<String> {
            self.seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Output {
        fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
            crate::logging::store_span_fields(attrs, id, &ctx);
        }

        fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
            crate::logging::update_span_fields(id, values, &ctx);
        }

        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            with_scratch(|scratch| {
                let record = scratch.flat.of(event, &ctx);
                let n = record.fields.iter().find(|(name, _)| *name == "n");
                let text = n.map_or_else(|| "-".to_owned(), |(_, value)| format!("{value:?}"));
                self.seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(text);
            });
            if self.nested && event.metadata().target() != "nested" {
                tracing::info!(target: "nested", n = -1, "from inside an output");
            }
        }
    }

    fn fills() -> u64 {
        FILLS.with(Cell::get)
    }

    /// `first` and `second` between the two marks, as the stack puts its log outputs.
    fn between_marks(
        first: impl Layer<Registry> + Send + Sync + 'static,
        second: impl Layer<Registry> + Send + Sync + 'static,
    ) -> impl Subscriber + Send + Sync {
        tracing_subscriber::registry().with(vec![
            EventMark::Open.boxed(),
            first.boxed(),
            second.boxed(),
            EventMark::Close.boxed(),
        ])
    }

    #[test]
    fn outputs_between_the_marks_flatten_each_event_once() {
        enable_every_callsite();
        let (first, second) = (Output::default(), Output::default());
        let subscriber = between_marks(first.clone(), second.clone());
        let before = fills();
        tracing::subscriber::with_default(subscriber, || {
            for n in 0..3 {
                tracing::info!(n, "event");
            }
        });
        assert_eq!(fills() - before, 3);
        assert_eq!(first.seen(), second.seen());
        assert_eq!(first.seen().len(), 3);
    }

    /// Records the time of each event it flattens.
    #[derive(Clone, Default)]
    struct Times(Arc<Mutex<Vec<Option<SystemTime>>>>);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Times {
        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            with_scratch(|scratch| {
                let time = scratch.flat.of(event, &ctx).time;
                self.0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(time);
            });
        }
    }

    #[test]
    fn outputs_between_the_marks_give_an_event_one_time() {
        enable_every_callsite();
        let (first, second) = (Times::default(), Times::default());
        let subscriber = between_marks(first.clone(), second.clone());
        let before = SystemTime::now();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("one");
            std::thread::sleep(std::time::Duration::from_millis(2));
            tracing::info!("two");
        });
        let first = first.0.lock().unwrap().clone();
        assert_eq!(first, *second.0.lock().unwrap());
        let [Some(one), Some(two)] = first[..] else {
            panic!("each event read the clock: {first:?}");
        };
        assert!(before <= one && one < two, "{before:?} {one:?} {two:?}");
    }

    #[test]
    fn an_output_the_first_one_filtered_out_flattens_the_event_itself() {
        enable_every_callsite();
        let (first, second) = (Output::default(), Output::default());
        // The first output sees every other event of the same callsite.
        let calls = Arc::new(Mutex::new(0_u32));
        let every_other = filter_fn(move |_| {
            let mut calls = calls.lock().unwrap_or_else(PoisonError::into_inner);
            *calls += 1;
            *calls % 2 == 1
        });
        let subscriber = between_marks(first.clone().with_filter(every_other), second.clone());
        tracing::subscriber::with_default(subscriber, || {
            for n in 0..4 {
                tracing::info!(n, "event");
            }
        });
        assert_eq!(second.seen(), ["I64(0)", "I64(1)", "I64(2)", "I64(3)"]);
    }

    #[test]
    fn an_event_logged_inside_an_output_leaves_the_next_outputs_the_outer_event() {
        enable_every_callsite();
        let first = Output {
            nested: true,
            ..Output::default()
        };
        let second = Output::default();
        let subscriber = between_marks(first.clone(), second.clone());
        tracing::subscriber::with_default(subscriber, || tracing::info!(n = 7, "outer"));
        // tracing does not re-enter a subscriber from inside its own dispatch: the nested
        // event goes nowhere, and the second output still reads the outer one.
        assert_eq!(first.seen(), ["I64(7)"]);
        assert_eq!(second.seen(), ["I64(7)"]);
    }

    /// Records applied on this thread so far.
    fn records_applied() -> u64 {
        RECORDS_APPLIED.with(Cell::get)
    }

    /// Two outputs, with or without the marks around them, see a span's recorded field.
    fn record_through(marked: bool) -> (Vec<String>, Vec<String>, u64) {
        enable_every_callsite();
        let (first, second) = (Output::default(), Output::default());
        let outputs = tracing_subscriber::registry()
            .with(marked.then_some(EventMark::Open))
            .with(first.clone())
            .with(second.clone())
            .with(marked.then_some(EventMark::Close));
        let before = records_applied();
        tracing::subscriber::with_default(outputs, || {
            let span = tracing::info_span!("request", n = tracing::field::Empty);
            span.record("n", 5);
            span.in_scope(|| tracing::info!("done"));
        });
        (first.seen(), second.seen(), records_applied() - before)
    }

    #[test]
    fn between_the_marks_a_span_record_is_applied_once_for_every_output() {
        assert_eq!(
            record_through(true),
            (vec!["I64(5)".into()], vec!["I64(5)".into()], 1)
        );
    }

    #[test]
    fn without_marks_each_output_applies_a_span_record() {
        let (first, second, applied) = record_through(false);
        assert_eq!(
            (first, second),
            (vec!["I64(5)".into()], vec!["I64(5)".into()])
        );
        assert_eq!(applied, 2, "idempotent, applied by each output");
    }

    #[test]
    fn without_marks_every_output_flattens() {
        enable_every_callsite();
        let (first, second) = (Output::default(), Output::default());
        let subscriber = tracing_subscriber::registry()
            .with(first.clone())
            .with(second.clone());
        let before = fills();
        tracing::subscriber::with_default(subscriber, || tracing::info!(n = 1, "event"));
        assert_eq!(fills() - before, 2);
        assert_eq!(second.seen(), ["I64(1)"]);
    }
}

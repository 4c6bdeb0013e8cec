//! [`Unentered`]: a filtered output layer that is not told when a span is entered, exited or
//! closed.
//!
//! A layer with a per-layer filter looks the span up in the registry for every callback, to
//! ask whether its filter enabled it, even when the layer does nothing with that callback. The
//! log outputs (JSON lines, human lines, OTLP log records, the flight recorder) only read span
//! fields when a span is made or recorded and when an event is written; entering, leaving and
//! closing spans is none of their business. A request span is entered and left about three
//! times and closed once, so each output wrapped here saves seven lookups per request.
//!
//! The filter must not need those callbacks either: an [`EnvFilter`] with span directives
//! (`[request{route=/orders}]=debug`) tracks which of its spans are entered, so a layer filtered
//! by one is not wrapped ([`needs_span_scope`]).
//!
//! Downcasts stop at the wrapper (forwarding them takes `unsafe`, which this crate has none
//! of), so it wraps only layers nothing downcasts to: not the flight recorder, which requests
//! find by downcasting. It adds nothing to how the registry filters: the stack [`layers`]
//! returns already holds layers without a filter of their own (the event marks), so the
//! registry asks every filter in it, wrapped or not.
//!
//! [`layers`]: super::layers
//!
//! [`EnvFilter`]: tracing_subscriber::EnvFilter

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// `L` with every callback but `on_enter`, `on_exit`, `on_close` and `on_id_change`.
#[derive(Debug)]
pub(super) struct Unentered<L>(pub(super) L);

/// Whether `directives` hold a span directive, whose filter must see spans entered and left.
pub(super) fn needs_span_scope(directives: &str) -> bool {
    directives.contains('[')
}

impl<S: Subscriber, L: Layer<S>> Layer<S> for Unentered<L> {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.0.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.0.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.0.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.0.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx);
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(span, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.0.on_follows_from(span, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.0.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.0.on_event(event, ctx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, PoisonError};

    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::registry::LookupSpan;

    use super::*;

    /// Every callback it is given, by name.
    #[derive(Debug, Clone, Default)]
    struct Calls(Arc<Mutex<Vec<&'static str>>>);

    impl Calls {
        fn push(&self, name: &'static str) {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(name);
        }

        fn seen(&self) -> Vec<&'static str> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Calls {
        fn on_new_span(&self, _: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
            self.push("new_span");
        }
        fn on_record(&self, _: &Id, _: &Record<'_>, _: Context<'_, S>) {
            self.push("record");
        }
        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.push("event");
        }
        fn on_enter(&self, _: &Id, _: Context<'_, S>) {
            self.push("enter");
        }
        fn on_exit(&self, _: &Id, _: Context<'_, S>) {
            self.push("exit");
        }
        fn on_close(&self, _: Id, _: Context<'_, S>) {
            self.push("close");
        }
    }

    #[test]
    fn the_layer_sees_spans_made_and_recorded_and_events_and_its_filter_still_filters() {
        let calls = Calls::default();
        let info = filter_fn(|meta| *meta.level() <= tracing::Level::INFO);
        let layer = Unentered(calls.clone().with_filter(info));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", status = tracing::field::Empty);
            span.in_scope(|| {
                span.record("status", 200);
                tracing::info!("kept");
                tracing::debug!("filtered out");
            });
            tracing::debug_span!("filtered out").in_scope(|| {});
        });
        assert_eq!(calls.seen(), ["new_span", "record", "event"]);
    }

    #[test]
    fn another_layer_still_sees_its_spans_entered_and_closed() {
        let (inner, beside) = (Calls::default(), Calls::default());
        let subscriber = tracing_subscriber::registry()
            .with(Unentered(inner.clone().with_filter(LevelFilter::INFO)))
            .with(beside.clone().with_filter(LevelFilter::INFO));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("work").in_scope(|| tracing::info!("done"));
        });
        assert_eq!(inner.seen(), ["new_span", "event"]);
        assert_eq!(
            beside.seen(),
            ["new_span", "enter", "event", "exit", "close"]
        );
    }

    #[test]
    fn span_directives_need_the_scope() {
        assert!(needs_span_scope("info,[request{route=/orders}]=debug"));
        assert!(!needs_span_scope("info,ordertrail=debug,h2=off"));
    }
}

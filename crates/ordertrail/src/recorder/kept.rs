//! [`KeptEvent`]: one event held back, in the form every output writes from.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::{Event, Level};

use crate::logging::{EventFields, FieldValue, Fields, FlatRecord};

/// Bytes a kept event costs besides its own strings: its slot, its field list, the shared
/// record of its spans (one pointer: the spans' fields are kept once per span, not per event).
const OVERHEAD: usize = 192;

/// An event below the output level, kept while its request runs: its own message and fields,
/// the flattened fields of its spans (shared by every event of the same span), its level,
/// target, and when it happened. A replay writes it with this timestamp, so it sorts where it
/// happened, and with exactly the fields a live line would have had.
#[derive(Debug)]
pub struct KeptEvent {
    time: SystemTime,
    level: Level,
    target: &'static str,
    spans: Arc<FlatRecord>,
    message: Option<FieldValue>,
    fields: Fields,
    bytes: usize,
}

impl KeptEvent {
    /// Keeps `event`, whose spans flatten to `spans`, stamped now.
    pub(crate) fn new(event: &Event<'_>, spans: Arc<FlatRecord>) -> Self {
        let mut fields = Fields::new();
        let mut visitor = EventFields {
            message: None,
            fields: Some(&mut fields),
        };
        event.record(&mut visitor);
        let message = visitor.message;
        let meta = event.metadata();
        let bytes = estimate(message.as_ref(), &fields);
        Self {
            time: SystemTime::now(),
            level: *meta.level(),
            target: meta.target(),
            spans,
            message,
            fields,
            bytes,
        }
    }

    /// When the event happened.
    pub fn time(&self) -> SystemTime {
        self.time
    }

    /// Its level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Its target.
    pub fn target(&self) -> &'static str {
        self.target
    }

    /// The flattened event, as the log layers would have written it: request id, service,
    /// trace context, span fields root to leaf, then the event's own.
    pub fn record(&self) -> FlatRecord {
        let mut record = FlatRecord::clone(&self.spans);
        record.add_event(self.message.as_ref(), &self.fields);
        record.time = Some(self.time);
        record
    }

    /// What it costs the budget, in bytes: an estimate of what it holds on its own.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

fn estimate(message: Option<&FieldValue>, fields: &Fields) -> usize {
    let text = |v: &FieldValue| v.as_str().map_or(8, str::len);
    let own: usize = fields
        .iter()
        .map(|(name, value)| name.len() + text(value) + 24)
        .sum();
    OVERHEAD + message.map_or(0, text) + own
}

#[cfg(test)]
pub(crate) mod tests {
    //! Also what the log layers' replay tests share: [`kept_events`].

    use std::sync::Mutex;

    use tracing::Subscriber;
    use tracing_subscriber::layer::{Context, SubscriberExt as _};
    use tracing_subscriber::registry::LookupSpan;

    use super::*;
    use crate::logging::{store_span_fields, update_span_fields};

    /// Keeps every event, with the record of its spans, as the recorder would.
    #[derive(Clone, Default)]
    struct KeepAll(Arc<Mutex<Vec<KeptEvent>>>);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for KeepAll {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            ctx: Context<'_, S>,
        ) {
            store_span_fields(attrs, id, &ctx);
        }

        fn on_record(
            &self,
            id: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            ctx: Context<'_, S>,
        ) {
            update_span_fields(id, values, &ctx);
        }

        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            let mut spans = FlatRecord::default();
            if let Some(scope) = ctx.event_scope(event) {
                spans.fill_spans(scope.from_root());
            }
            let kept = KeptEvent::new(event, Arc::new(spans));
            self.0.lock().unwrap().push(kept);
        }
    }

    /// The events `f` logs, kept.
    pub(crate) fn kept_events(f: impl FnOnce()) -> Vec<KeptEvent> {
        let keep = KeepAll::default();
        let subscriber = tracing_subscriber::registry().with(keep.clone());
        tracing::subscriber::with_default(subscriber, f);
        std::mem::take(&mut *keep.0.lock().unwrap())
    }

    #[test]
    fn a_kept_event_has_its_spans_fields_then_its_own() {
        let kept = kept_events(|| {
            let span = tracing::info_span!("charge", order_id = "o-1", shared = "span");
            span.in_scope(|| tracing::debug!(shared = "event", amount = 12, "charging"));
        });
        let record = kept[0].record();
        let names: Vec<&str> = record.fields.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["order_id", "shared", "amount"]);
        assert_eq!(record.fields[1].1.as_str(), Some("event"));
        assert_eq!(
            record
                .message
                .and_then(|m| m.as_str().map(str::to_owned))
                .as_deref(),
            Some("charging")
        );
        assert_eq!(kept[0].level(), Level::DEBUG);
    }

    #[test]
    fn longer_text_costs_more() {
        let short = FieldValue::Str("a".into());
        let long = FieldValue::Str("a".repeat(1000).into());
        let fields = vec![("sku", FieldValue::Str("poster".into()))];
        let small = estimate(Some(&short), &Fields::new());
        assert!(small >= OVERHEAD);
        assert!(estimate(Some(&long), &fields) >= small + 999 + "skuposter".len());
    }
}

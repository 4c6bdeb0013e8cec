//! [`Buffer`]: one request's kept events, bounded by count and bytes, oldest dropped first.

use std::collections::VecDeque;
use std::sync::Arc;

use super::budget::Budget;
use super::kept::KeptEvent;
use super::stats::{Count, RecorderStats};

/// Per-request bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_events: usize,
    pub(crate) max_bytes: usize,
}

/// The events of one request, in order. Its bytes are reserved from the global [`Budget`] and
/// given back when it is dropped, whoever drops it.
#[derive(Debug)]
pub(crate) struct Buffer {
    events: VecDeque<KeptEvent>,
    bytes: usize,
    dropped: u64,
    budget: Arc<Budget>,
}

impl Buffer {
    pub(crate) fn new(budget: Arc<Budget>) -> Self {
        Self {
            events: VecDeque::new(),
            bytes: 0,
            dropped: 0,
            budget,
        }
    }

    /// Keeps `event`, dropping the oldest ones while the request's bounds are exceeded; the
    /// event itself is dropped when even an empty buffer cannot take it, or when `reserve`
    /// cannot find the bytes in the global budget. Never waits.
    pub(crate) fn push(
        &mut self,
        event: KeptEvent,
        limits: Limits,
        stats: &RecorderStats,
        reserve: impl FnOnce(usize) -> bool,
    ) {
        let size = event.bytes();
        if size > limits.max_bytes || limits.max_events == 0 {
            self.drop_counted(stats, Count::DroppedPerRequest);
            return;
        }
        while self.events.len() >= limits.max_events || self.bytes + size > limits.max_bytes {
            self.pop_oldest();
            self.drop_counted(stats, Count::DroppedPerRequest);
        }
        if !reserve(size) {
            self.drop_counted(stats, Count::DroppedBudget);
            return;
        }
        self.bytes += size;
        self.events.push_back(event);
        stats.add(Count::Kept, 1);
    }

    fn drop_counted(&mut self, stats: &RecorderStats, why: Count) {
        self.dropped += 1;
        stats.add(why, 1);
    }

    fn pop_oldest(&mut self) {
        if let Some(old) = self.events.pop_front() {
            self.bytes -= old.bytes();
            self.budget.release(old.bytes());
        }
    }

    /// The events, oldest first.
    pub(crate) fn events(&self) -> impl Iterator<Item = &KeptEvent> {
        self.events.iter()
    }

    /// How many events are kept.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// How many events this request lost to its bounds or the budget.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::FlatRecord;

    /// Events kept by a layer that only collects them.
    #[derive(Clone, Default)]
    struct Collect(Arc<std::sync::Mutex<Vec<KeptEvent>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Collect {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let kept = KeptEvent::new(event, Arc::new(FlatRecord::default()));
            self.0.lock().unwrap().push(kept);
        }
    }

    fn event(text: &str) -> KeptEvent {
        use tracing_subscriber::layer::SubscriberExt as _;
        let collect = Collect::default();
        let subscriber = tracing_subscriber::registry().with(collect.clone());
        tracing::subscriber::with_default(subscriber, || tracing::debug!("{text}"));
        let kept = collect.0.lock().unwrap().pop();
        kept.expect("one event")
    }

    fn messages(buffer: &Buffer) -> Vec<String> {
        let text = |e: &KeptEvent| {
            let message = e.record().message;
            message.and_then(|m| m.as_str().map(str::to_owned))
        };
        buffer
            .events()
            .map(|e| text(e).unwrap_or_default())
            .collect()
    }

    #[test]
    fn past_its_count_the_oldest_go_first_and_are_counted() {
        let budget = Arc::new(Budget::new(1 << 20));
        let stats = RecorderStats::default();
        let limits = Limits {
            max_events: 2,
            max_bytes: 1 << 20,
        };
        let mut buffer = Buffer::new(Arc::clone(&budget));
        for text in ["one", "two", "three"] {
            buffer.push(event(text), limits, &stats, |n| budget.try_reserve(n));
        }
        assert_eq!(messages(&buffer), ["two", "three"]);
        assert_eq!(buffer.dropped(), 1);
        assert_eq!(stats.snapshot().dropped_per_request, 1);
        assert_eq!(budget.in_use(), buffer.bytes());
        drop(buffer);
        assert_eq!(
            budget.in_use(),
            0,
            "dropping the buffer gives its bytes back"
        );
    }

    #[test]
    fn an_empty_budget_drops_the_new_event_and_keeps_the_old() {
        let one = event("one").bytes();
        let budget = Arc::new(Budget::new(one + 10));
        let stats = RecorderStats::default();
        let limits = Limits {
            max_events: 10,
            max_bytes: 1 << 20,
        };
        let mut buffer = Buffer::new(Arc::clone(&budget));
        buffer.push(event("one"), limits, &stats, |n| budget.try_reserve(n));
        buffer.push(event("two"), limits, &stats, |n| budget.try_reserve(n));
        assert_eq!(messages(&buffer), ["one"]);
        assert_eq!(stats.snapshot().dropped_budget, 1);
    }
}

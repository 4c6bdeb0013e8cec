//! [`Held`]: the detail of recently completed, unremarkable requests, kept a short while in
//! case a later hop of the same request id decides to keep it.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::buffer::Buffer;
use super::stats::{Count, RecorderStats};
use crate::correlation::RequestId;

/// The longest hold: a longer configured one is cut to this, so a deadline never overflows.
pub(crate) const MAX_HOLD: Duration = Duration::from_secs(3_600);

/// Completed requests' buffers, oldest first, bounded by count and age. Their bytes stay
/// reserved in the global budget until they are replayed or evicted.
#[derive(Debug)]
pub(crate) struct Held {
    entries: Mutex<VecDeque<Entry>>,
    hold_for: Duration,
    max: usize,
}

#[derive(Debug)]
struct Entry {
    id: RequestId,
    until: Instant,
    buffer: Buffer,
}

impl Held {
    /// Holds at most `max` requests' detail, each for `hold_for` (at most [`MAX_HOLD`]).
    pub(crate) fn new(hold_for: Duration, max: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            hold_for: hold_for.min(MAX_HOLD),
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `buffer` for `id`, or discards it (counted) when holding is off. Evicts what
    /// expired and, past the count, the oldest.
    pub(crate) fn put(&self, id: RequestId, buffer: Buffer, stats: &RecorderStats) {
        if self.hold_for.is_zero() || self.max == 0 {
            discard(buffer, stats);
            return;
        }
        let now = Instant::now();
        let mut entries = self.lock();
        while entries
            .front()
            .is_some_and(|e| e.until <= now || entries.len() >= self.max)
        {
            if let Some(old) = entries.pop_front() {
                discard(old.buffer, stats);
            }
        }
        entries.push_back(Entry {
            id,
            until: now + self.hold_for,
            buffer,
        });
    }

    /// Takes every unexpired buffer held for `id`, oldest first; discards what expired.
    pub(crate) fn take(&self, id: &RequestId, stats: &RecorderStats) -> Vec<Buffer> {
        let now = Instant::now();
        let mut entries = self.lock();
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(entries.len());
        for entry in entries.drain(..) {
            if entry.until <= now {
                discard(entry.buffer, stats);
            } else if entry.id == *id {
                taken.push(entry.buffer);
            } else {
                kept.push_back(entry);
            }
        }
        *entries = kept;
        taken
    }

    /// Discards the oldest held buffer to make room in the budget; false when none is held.
    pub(crate) fn evict_oldest(&self, stats: &RecorderStats) -> bool {
        let oldest = self.lock().pop_front();
        oldest.map(|e| discard(e.buffer, stats)).is_some()
    }
}

/// Drops `buffer` (its bytes go back to the budget), counting its events as discarded.
pub(crate) fn discard(buffer: Buffer, stats: &RecorderStats) {
    if buffer.len() > 0 {
        stats.add(Count::DiscardedEvents, buffer.len() as u64);
        stats.add(Count::DiscardedRequests, 1);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::recorder::budget::Budget;

    fn id(text: &str) -> RequestId {
        text.parse().unwrap()
    }

    fn empty() -> Buffer {
        Buffer::new(Arc::new(Budget::new(1)))
    }

    #[test]
    fn a_held_buffer_is_taken_once_by_its_id() {
        let held = Held::new(Duration::from_secs(60), 10);
        let stats = RecorderStats::default();
        held.put(id("a"), empty(), &stats);
        held.put(id("b"), empty(), &stats);
        held.put(id("a"), empty(), &stats);
        assert_eq!(held.take(&id("a"), &stats).len(), 2);
        assert_eq!(held.take(&id("a"), &stats).len(), 0);
        assert_eq!(held.take(&id("b"), &stats).len(), 1);
    }

    #[test]
    fn past_the_count_the_oldest_goes_and_nothing_is_held_when_off() {
        let held = Held::new(Duration::from_secs(60), 2);
        let stats = RecorderStats::default();
        for name in ["a", "b", "c"] {
            held.put(id(name), empty(), &stats);
        }
        assert!(held.take(&id("a"), &stats).is_empty());
        assert_eq!(held.take(&id("c"), &stats).len(), 1);
        let off = Held::new(Duration::ZERO, 2);
        off.put(id("a"), empty(), &stats);
        assert!(off.take(&id("a"), &stats).is_empty());
    }

    #[test]
    fn a_hold_too_long_for_the_clock_is_cut_not_a_panic() {
        let held = Held::new(Duration::MAX, 2);
        let stats = RecorderStats::default();
        held.put(id("a"), empty(), &stats);
        assert_eq!(held.take(&id("a"), &stats).len(), 1);
    }

    #[test]
    fn an_expired_buffer_is_not_taken() {
        let held = Held::new(Duration::from_millis(1), 10);
        let stats = RecorderStats::default();
        held.put(id("a"), empty(), &stats);
        std::thread::sleep(Duration::from_millis(5));
        assert!(held.take(&id("a"), &stats).is_empty());
        assert!(!held.evict_oldest(&RecorderStats::default()));
    }
}

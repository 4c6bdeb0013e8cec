//! [`RecorderStats`]: what the flight recorder kept, wrote, threw away and refused.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one recorder, shared with whoever asked for them; every update is one atomic
/// add, so reading them never slows a request.
#[derive(Debug, Default)]
pub struct RecorderStats {
    kept: AtomicU64,
    replayed_events: AtomicU64,
    replayed_requests: AtomicU64,
    discarded_events: AtomicU64,
    discarded_requests: AtomicU64,
    dropped_per_request: AtomicU64,
    dropped_budget: AtomicU64,
    debug_honoured: AtomicU64,
    debug_refused: AtomicU64,
    flags_stripped: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecorderSnapshot {
    /// Events put in a request's buffer.
    pub kept: u64,
    /// Buffered events written out by a replay.
    pub replayed_events: u64,
    /// Requests whose detail was replayed (those with some detail kept).
    pub replayed_requests: u64,
    /// Buffered events thrown away: their request completed without a reason to keep them.
    pub discarded_events: u64,
    /// Requests whose detail was thrown away.
    pub discarded_requests: u64,
    /// Events dropped because their request's buffer was full (the oldest go first).
    pub dropped_per_request: u64,
    /// Events dropped because the global byte budget was spent.
    pub dropped_budget: u64,
    /// Requests that asked for debug detail with a valid token, or an internal caller's flag.
    pub debug_honoured: u64,
    /// Debug headers refused: a token that does not verify, or no secret configured.
    pub debug_refused: u64,
    /// Recorder flags removed from an untrusted caller's `baggage` at the edge.
    pub flags_stripped: u64,
}

/// One counter of [`RecorderStats`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Kept,
    ReplayedEvents,
    ReplayedRequests,
    DiscardedEvents,
    DiscardedRequests,
    DroppedPerRequest,
    DroppedBudget,
    DebugHonoured,
    DebugRefused,
    FlagsStripped,
}

impl RecorderStats {
    /// Adds `n` to `counter`.
    pub(crate) fn add(&self, counter: Count, n: u64) {
        if n > 0 {
            self.counter(counter).fetch_add(n, Ordering::Relaxed);
        }
    }

    fn counter(&self, counter: Count) -> &AtomicU64 {
        match counter {
            Count::Kept => &self.kept,
            Count::ReplayedEvents => &self.replayed_events,
            Count::ReplayedRequests => &self.replayed_requests,
            Count::DiscardedEvents => &self.discarded_events,
            Count::DiscardedRequests => &self.discarded_requests,
            Count::DroppedPerRequest => &self.dropped_per_request,
            Count::DroppedBudget => &self.dropped_budget,
            Count::DebugHonoured => &self.debug_honoured,
            Count::DebugRefused => &self.debug_refused,
            Count::FlagsStripped => &self.flags_stripped,
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> RecorderSnapshot {
        let get = |c| self.counter(c).load(Ordering::Relaxed);
        RecorderSnapshot {
            kept: get(Count::Kept),
            replayed_events: get(Count::ReplayedEvents),
            replayed_requests: get(Count::ReplayedRequests),
            discarded_events: get(Count::DiscardedEvents),
            discarded_requests: get(Count::DiscardedRequests),
            dropped_per_request: get(Count::DroppedPerRequest),
            dropped_budget: get(Count::DroppedBudget),
            debug_honoured: get(Count::DebugHonoured),
            debug_refused: get(Count::DebugRefused),
            flags_stripped: get(Count::FlagsStripped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_what_was_added() {
        let stats = RecorderStats::default();
        stats.add(Count::Kept, 3);
        stats.add(Count::DroppedBudget, 2);
        stats.add(Count::Kept, 1);
        let snap = stats.snapshot();
        assert_eq!((snap.kept, snap.dropped_budget), (4, 2));
        assert_eq!(snap.replayed_events, 0);
    }
}

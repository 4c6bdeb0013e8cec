//! [`ReplaySink`]: an output that writes kept events after the fact, and [`Marker`], what
//! every replayed event says about why.

use super::kept::KeptEvent;
use super::trigger::Trigger;

/// What a replayed line carries besides the event: `"replayed": true`, the trigger, and how
/// many events of the request were dropped by the bounds (when any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Marker {
    /// Why the request's detail was written.
    pub trigger: Trigger,
    /// Events of the request lost to its bounds or the budget.
    pub dropped: u64,
}

/// An output the recorder replays into: each log layer offers one (`JsonLayer::replay_sink`,
/// `HumanLayer::replay_sink`, `OtlpLogLayer::replay_sink`) that writes a [`KeptEvent`]
/// exactly as the layer writes a live event, with the event's own timestamp and the marker.
pub trait ReplaySink: Send + Sync + 'static {
    /// Writes `event`, marked.
    fn replay(&self, event: &KeptEvent, marker: &Marker);
}

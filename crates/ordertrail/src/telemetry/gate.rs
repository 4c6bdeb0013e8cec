//! The export gate: after a failed export, the next batches are dropped unsent for a while.
//!
//! With the collector down, every export fails, and the OTLP exporter encodes each batch
//! again for every retry: the telemetry of a service whose collector is gone cost more than
//! that of one whose collector answers. The gate makes a dead collector cheap: after a failure
//! it *opens* for a back-off period (doubling from [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`]),
//! and batches finished meanwhile are counted as failed without being encoded or sent. The
//! first batch after the period is sent as a probe: its success closes the gate, its failure
//! opens it again for twice as long.
//!
//! What it costs: while the gate is open, batches that a collector coming back within the
//! period would have taken are lost (at most [`MAX_BACKOFF`] of telemetry; they are counted).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The back-off after a first failure.
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The longest back-off: a collector that comes back is used again within this long.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether to send the next batch, from the outcome of the last ones.
#[derive(Debug, Default)]
pub(super) struct ExportGate {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Batches are dropped until then; `None` while exports succeed.
    open_until: Option<Instant>,
    /// The back-off after the next failure.
    next_backoff: Option<Duration>,
}

impl ExportGate {
    /// True when a batch finished at `now` should be sent.
    pub(super) fn admits(&self, now: Instant) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.open_until.is_none_or(|until| now >= until)
    }

    /// Records the outcome of a batch sent at `now`.
    pub(super) fn record(&self, succeeded: bool, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if succeeded {
            *state = State::default();
            return;
        }
        let backoff = state.next_backoff.unwrap_or(FIRST_BACKOFF);
        state.open_until = Some(now + backoff);
        state.next_backoff = Some((backoff * 2).min(MAX_BACKOFF));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_gate_admits_every_batch() {
        let gate = ExportGate::default();
        let now = Instant::now();
        assert!(gate.admits(now));
        gate.record(true, now);
        assert!(gate.admits(now));
    }

    #[test]
    fn a_failure_opens_the_gate_for_the_back_off_then_admits_a_probe() {
        let gate = ExportGate::default();
        let t0 = Instant::now();
        gate.record(false, t0);
        assert!(!gate.admits(t0 + FIRST_BACKOFF - Duration::from_millis(1)));
        assert!(gate.admits(t0 + FIRST_BACKOFF));
    }

    #[test]
    fn back_offs_double_up_to_the_cap_and_a_success_resets_them() {
        let gate = ExportGate::default();
        let mut now = Instant::now();
        let mut expected = FIRST_BACKOFF;
        for _ in 0..8 {
            gate.record(false, now);
            assert!(!gate.admits(now + expected - Duration::from_millis(1)));
            now += expected;
            assert!(gate.admits(now));
            expected = (expected * 2).min(MAX_BACKOFF);
        }
        assert_eq!(expected, MAX_BACKOFF);
        gate.record(true, now);
        gate.record(false, now);
        assert!(gate.admits(now + FIRST_BACKOFF));
    }
}

//! [`Backoff`]: how long a worker slot waits before its worker is restarted.
//!
//! A worker that dies right after it started is restarted after 100 ms, then 200 ms, 400 ms,
//! and so on up to a 10 s cap, so a crash-looping worker costs little and never spins. A
//! worker that stayed up for [`Backoff::stable`] or longer counts as healthy: its next death
//! starts the sequence again at 100 ms.

use std::time::Duration;

/// Capped exponential backoff for one worker slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub cap: Duration,
    /// An uptime after which a death is not part of a crash loop.
    pub stable: Duration,
    failures: u32,
}

impl Default for Backoff {
    /// 100 ms doubling to 10 s; reset after 10 s up.
    fn default() -> Self {
        Self::new(
            Duration::from_millis(100),
            Duration::from_secs(10),
            Duration::from_secs(10),
        )
    }
}

impl Backoff {
    /// Starts at `initial`, doubles up to `cap`, and resets after a worker ran for `stable`.
    pub const fn new(initial: Duration, cap: Duration, stable: Duration) -> Self {
        Self {
            initial,
            cap,
            stable,
            failures: 0,
        }
    }

    /// The delay before restarting a worker that died after running for `uptime`.
    pub fn next_delay(&mut self, uptime: Duration) -> Duration {
        if uptime >= self.stable {
            self.failures = 0;
        }
        let factor = 1u32 << self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        self.initial.saturating_mul(factor).min(self.cap)
    }

    /// Deaths in a row, each within [`stable`](Self::stable) of its start.
    pub const fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_millis(5);

    #[test]
    fn doubles_from_the_initial_delay_up_to_the_cap() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..10)
            .map(|_| backoff.next_delay(QUICK).as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [
                100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000
            ]
        );
        assert_eq!(backoff.failures(), 10);
    }

    #[test]
    fn a_worker_that_stayed_up_resets_the_sequence() {
        let mut backoff = Backoff::default();
        for _ in 0..5 {
            backoff.next_delay(QUICK);
        }
        assert_eq!(
            backoff.next_delay(Duration::from_secs(10)),
            Duration::from_millis(100)
        );
        assert_eq!(backoff.next_delay(QUICK), Duration::from_millis(200));
    }

    #[test]
    fn never_overflows() {
        let mut backoff = Backoff::default();
        for _ in 0..1_000 {
            assert!(backoff.next_delay(QUICK) <= Duration::from_secs(10));
        }
    }
}

//! [`Pacer`]: hands out the right to place the next order, so that all workers together stay
//! within the count, the duration and the rate.
//!
//! With a rate, order `n` may start at `start + n / rate`: the schedule is global, so any
//! number of workers together start `rate` orders per second, and a worker that was held up
//! by a slow answer catches up instead of lowering the rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The shared schedule of a run.
#[derive(Debug)]
pub struct Pacer {
    issued: AtomicU64,
    limit: u64,
    start: Instant,
    deadline: Option<Instant>,
    rate: Option<f64>,
    stop: watch::Receiver<bool>,
}

impl Pacer {
    /// At most `limit` orders, until `duration` after now, `rate` per second; everything stops
    /// early once `stop` turns true.
    pub fn new(
        limit: u64,
        duration: Option<Duration>,
        rate: Option<f64>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let start = Instant::now();
        Self {
            issued: AtomicU64::new(0),
            limit,
            start,
            deadline: duration.map(|d| start + d),
            rate,
            stop,
        }
    }

    /// Waits for the next order's turn and returns its number; `None` when the run is over.
    pub async fn next(&self) -> Option<u64> {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        if n >= self.limit || *self.stop.borrow() {
            return None;
        }
        // Late slots are not made up past the deadline: a run that cannot keep up with its
        // rate still ends on time.
        let at = self.slot(n);
        if self
            .deadline
            .is_some_and(|deadline| at >= deadline || Instant::now() >= deadline)
        {
            return None;
        }
        let mut stop = self.stop.clone();
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            _ = stop.wait_for(|stopped| *stopped) => return None,
        }
        Some(n)
    }

    /// When order `n` may start.
    fn slot(&self, n: u64) -> Instant {
        match self.rate {
            Some(rate) => self.start + Duration::from_secs_f64(n as f64 / rate),
            None => Instant::now().max(self.start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rate_is_global_and_the_count_and_time_bound_it() {
        let (_tx, rx) = watch::channel(false);
        let pacer = Pacer::new(1_000, Some(Duration::from_millis(200)), Some(100.0), rx);
        let started = Instant::now();
        let mut issued = 0;
        while pacer.next().await.is_some() {
            issued += 1;
        }
        assert_eq!(issued, 20, "100/s for 0.2 s");
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(185), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_run_behind_its_rate_still_ends_at_the_deadline() {
        let (_tx, rx) = watch::channel(false);
        let pacer = Pacer::new(1_000, Some(Duration::from_millis(200)), Some(100.0), rx);
        let started = Instant::now();
        let mut issued = 0;
        // One order at a time, each taking 50 ms: 4 fit in 0.2 s, not the 20 scheduled.
        while pacer.next().await.is_some() {
            issued += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!((4..=5).contains(&issued), "{issued} orders");
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(350), "{elapsed:?}");
    }

    #[tokio::test]
    async fn stop_ends_the_run_and_the_limit_holds() {
        let (tx, rx) = watch::channel(false);
        let pacer = Pacer::new(3, None, None, rx);
        assert_eq!(pacer.next().await, Some(0));
        tx.send(true).unwrap();
        assert_eq!(pacer.next().await, None);
        let (_tx, rx) = watch::channel(false);
        let pacer = Pacer::new(2, None, None, rx);
        assert_eq!((pacer.next().await, pacer.next().await), (Some(0), Some(1)));
        assert_eq!(pacer.next().await, None);
    }
}

//! Whether `--rate` can be reached with `--concurrency`, and how rates are written.
//!
//! Each worker places one order at a time, so by Little's law a run starts at most
//! `concurrency / latency` orders per second: 8 workers whose orders take 300 ms place at most
//! 26.7 orders/s, whatever rate is asked. [`RateProbe`] measures the latency of the first
//! answers and gives a [`Reach`] once; [`Reach::warning`] says what would reach the rate.

use std::time::Duration;

/// Answers measured before the verdict, unless [`PROBE_TIME`] passes first.
pub const PROBE_ORDERS: u64 = 20;

/// Time into the run after which the verdict uses whatever answers came.
pub const PROBE_TIME: Duration = Duration::from_secs(1);

/// `rate` as written everywhere: one decimal, `20.8 orders/s`.
pub fn format_rate(rate: f64) -> String {
    let rate = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
    format!("{rate:.1} orders/s")
}

/// What `concurrency` workers can do at a measured `latency`, against the `asked` rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    /// Orders per second asked with `--rate`.
    pub asked: f64,
    /// Orders in flight at once.
    pub concurrency: usize,
    /// Mean time one order holds a worker.
    pub latency: Duration,
}

impl Reach {
    /// The most orders per second: `concurrency / latency`.
    pub fn max_rate(&self) -> f64 {
        self.concurrency as f64 / self.latency.as_secs_f64().max(1e-6)
    }

    /// Whether the asked rate is within [`max_rate`](Self::max_rate).
    pub fn reachable(&self) -> bool {
        self.max_rate() >= self.asked
    }

    /// The smallest concurrency that reaches the asked rate: `rate × latency`, rounded up.
    pub fn concurrency_needed(&self) -> usize {
        let needed = self.asked * self.latency.as_secs_f64();
        // 50/s × 0.3 s is 15.000000000000002 in floating point: still 15.
        ((needed - 1e-9).ceil() as usize).max(1)
    }

    /// The warning for a rate out of reach; `None` when it is reachable.
    pub fn warning(&self) -> Option<String> {
        if self.reachable() {
            return None;
        }
        Some(format!(
            "--rate {} cannot be reached with --concurrency {}: orders take {} ms, so {} in \
             flight place at most {} (rate ≤ concurrency / latency); \
             --concurrency {} would reach it",
            format_rate(self.asked),
            self.concurrency,
            millis(self.latency),
            self.concurrency,
            format_rate(self.max_rate()),
            self.concurrency_needed(),
        ))
    }
}

/// Watches the first answers of a run with a rate and gives its [`Reach`] once.
#[derive(Debug, Clone)]
pub struct RateProbe {
    asked: Option<f64>,
    concurrency: usize,
    orders: u64,
    busy: Duration,
    done: bool,
}

impl RateProbe {
    /// A probe for `asked` orders/s (none: nothing to check) with `concurrency` workers.
    pub fn new(asked: Option<f64>, concurrency: usize) -> Self {
        Self {
            asked,
            concurrency,
            orders: 0,
            busy: Duration::ZERO,
            done: asked.is_none(),
        }
    }

    /// Counts one order that held a worker for `latency`, `since_start` into the run. Returns
    /// the verdict once: after [`PROBE_ORDERS`] orders, or the first after [`PROBE_TIME`].
    pub fn observe(&mut self, latency: Duration, since_start: Duration) -> Option<Reach> {
        if self.done {
            return None;
        }
        self.orders += 1;
        self.busy += latency;
        if self.orders < PROBE_ORDERS && since_start < PROBE_TIME {
            return None;
        }
        self.done = true;
        Some(Reach {
            asked: self.asked?,
            concurrency: self.concurrency,
            latency: self.busy / u32::try_from(self.orders).unwrap_or(u32::MAX),
        })
    }
}

fn millis(latency: Duration) -> String {
    let ms = latency.as_secs_f64() * 1000.0;
    if ms >= 10.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(asked: f64, concurrency: usize, ms: u64) -> Reach {
        Reach {
            asked,
            concurrency,
            latency: Duration::from_millis(ms),
        }
    }

    #[test]
    fn rates_have_one_decimal() {
        assert_eq!(format_rate(20.7556), "20.8 orders/s");
        assert_eq!(format_rate(50.0), "50.0 orders/s");
        assert_eq!(format_rate(2002.66), "2002.7 orders/s");
        assert_eq!(format_rate(f64::NAN), "0.0 orders/s");
    }

    #[test]
    fn eight_in_flight_at_300_ms_cannot_place_50_a_second() {
        let r = reach(50.0, 8, 300);
        assert!((r.max_rate() - 26.667).abs() < 0.01, "{}", r.max_rate());
        assert!(!r.reachable());
        assert_eq!(r.concurrency_needed(), 15);
        assert_eq!(
            r.warning().as_deref(),
            Some(
                "--rate 50.0 orders/s cannot be reached with --concurrency 8: orders take \
                 300 ms, so 8 in flight place at most 26.7 orders/s (rate ≤ concurrency / \
                 latency); --concurrency 15 would reach it"
            )
        );
    }

    #[test]
    fn a_reachable_rate_gives_no_warning() {
        assert_eq!(reach(50.0, 15, 300).warning(), None);
        assert_eq!(reach(20.0, 2, 5).warning(), None);
        assert_eq!(reach(50.0, 8, 161).concurrency_needed(), 9);
        assert!(reach(50.0, 8, 161).warning().is_some());
    }

    #[test]
    fn the_probe_decides_once_after_twenty_orders_or_a_second() {
        let mut probe = RateProbe::new(Some(50.0), 8);
        let early = Duration::from_millis(100);
        for _ in 1..PROBE_ORDERS {
            assert_eq!(probe.observe(Duration::from_millis(300), early), None);
        }
        let verdict = probe.observe(Duration::from_millis(300), early);
        assert_eq!(verdict, Some(reach(50.0, 8, 300)));
        assert_eq!(probe.observe(Duration::from_millis(300), early), None);

        let mut slow = RateProbe::new(Some(50.0), 8);
        assert_eq!(slow.observe(Duration::from_millis(900), early), None);
        let late = slow.observe(Duration::from_millis(1100), PROBE_TIME);
        assert_eq!(late, Some(reach(50.0, 8, 1000)));

        let mut unpaced = RateProbe::new(None, 8);
        assert_eq!(unpaced.observe(Duration::from_secs(5), PROBE_TIME), None);
    }
}

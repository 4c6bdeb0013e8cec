//! [`Outcome`] of one order and [`Stats`], what a worker tallies: a latency histogram, counts
//! by status, and the slowest orders.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// How many of the slowest orders are kept.
pub const SLOWEST: usize = 5;

/// Latencies are recorded in microseconds, from 1 µs to an hour, with 3 significant digits.
const HIGHEST_MICROS: u64 = 3_600_000_000;

/// What became of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The `x-request-id` the gateway answered with.
    pub request_id: Option<String>,
    /// The HTTP status, or `None` when no answer came.
    pub status: Option<u16>,
    /// Why no answer came: `timeout`, `connect` or `transport`.
    pub failure: Option<&'static str>,
    /// The innermost error when no answer came, like `Connection refused (os error 111)`.
    pub cause: Option<String>,
    /// From sending the request to reading the whole answer.
    pub latency: Duration,
    /// Why the services replayed this order's `DEBUG` detail, from the gateway's
    /// `x-ordertrail-replay` header (`server_error`, `slow`, `debug`…); `None`: not replayed.
    pub replay: Option<String>,
}

impl Outcome {
    /// The key it is counted under: the status code, or the failure.
    pub fn key(&self) -> String {
        match (self.status, self.failure) {
            (Some(status), _) => status.to_string(),
            (None, Some(failure)) => failure.to_owned(),
            (None, None) => "unknown".to_owned(),
        }
    }
}

/// One of the slowest orders.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Slow {
    /// Its request id, to follow it.
    pub request_id: String,
    /// The status it got.
    pub status: u16,
    /// How long it took.
    #[serde(skip)]
    pub latency: Duration,
}

/// A tally of outcomes; tallies of several workers [`merge`](Self::merge).
#[derive(Debug, Clone)]
pub struct Stats {
    latency: Histogram<u64>,
    by_status: BTreeMap<String, u64>,
    slowest: Vec<Slow>,
    busy: Duration,
    cause: Option<String>,
    replays: BTreeMap<String, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
                .expect("1 µs to an hour at 3 significant digits are valid bounds"),
            by_status: BTreeMap::new(),
            slowest: Vec::new(),
            busy: Duration::ZERO,
            cause: None,
            replays: BTreeMap::new(),
        }
    }
}

impl Stats {
    /// Counts `outcome`; answered orders also go into the histogram and the slowest list.
    pub fn record(&mut self, outcome: &Outcome) {
        *self.by_status.entry(outcome.key()).or_default() += 1;
        if let Some(trigger) = &outcome.replay {
            *self.replays.entry(trigger.clone()).or_default() += 1;
        }
        self.busy += outcome.latency;
        if self.cause.is_none() {
            self.cause.clone_from(&outcome.cause);
        }
        let Some(status) = outcome.status else { return };
        self.latency.saturating_record(micros(outcome.latency));
        if let Some(id) = &outcome.request_id {
            self.consider(Slow {
                request_id: id.clone(),
                status,
                latency: outcome.latency,
            });
        }
    }

    /// Adds `other`'s tally to this one.
    pub fn merge(&mut self, other: Self) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        for (key, count) in other.by_status {
            *self.by_status.entry(key).or_default() += count;
        }
        for (trigger, count) in other.replays {
            *self.replays.entry(trigger).or_default() += count;
        }
        for slow in other.slowest {
            self.consider(slow);
        }
        self.busy += other.busy;
        self.cause = self.cause.take().or(other.cause);
    }

    fn consider(&mut self, slow: Slow) {
        self.slowest.push(slow);
        self.slowest.sort_by_key(|s| std::cmp::Reverse(s.latency));
        self.slowest.truncate(SLOWEST);
    }

    /// Orders counted, answered or not.
    pub fn total(&self) -> u64 {
        self.by_status.values().sum()
    }

    /// Orders that got an HTTP answer.
    pub fn answered(&self) -> u64 {
        self.latency.len()
    }

    /// Orders whose detail the services replayed, by trigger.
    pub fn replays(&self) -> &BTreeMap<String, u64> {
        &self.replays
    }

    /// Counts by status code or failure.
    pub fn by_status(&self) -> &BTreeMap<String, u64> {
        &self.by_status
    }

    /// The slowest answered orders, slowest first.
    pub fn slowest(&self) -> &[Slow] {
        &self.slowest
    }

    /// The latency at `quantile` (0.0 to 1.0) of answered orders.
    pub fn latency_at(&self, quantile: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(quantile))
    }

    /// The longest latency of an answered order.
    pub fn max_latency(&self) -> Duration {
        Duration::from_micros(self.latency.max())
    }

    /// The mean time an order held a worker, answered or not.
    pub fn mean_busy(&self) -> Duration {
        let orders = u32::try_from(self.total()).unwrap_or(u32::MAX).max(1);
        self.busy / orders
    }

    /// The innermost error of one order that got no answer.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// The mean latency of answered orders.
    pub fn mean_latency(&self) -> Duration {
        Duration::from_secs_f64(self.latency.mean() / 1e6)
    }
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(id: &str, status: u16, ms: u64) -> Outcome {
        Outcome {
            request_id: Some(id.into()),
            status: Some(status),
            failure: None,
            cause: None,
            latency: Duration::from_millis(ms),
            replay: (status >= 500).then(|| "server_error".to_owned()),
        }
    }

    #[test]
    fn counts_merge_and_keep_the_five_slowest() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for ms in 1..=6 {
            a.record(&answered(&format!("a{ms}"), 201, ms));
        }
        b.record(&answered("b", 402, 100));
        b.record(&Outcome {
            request_id: None,
            status: None,
            failure: Some("timeout"),
            cause: Some("operation timed out".into()),
            latency: Duration::from_secs(10),
            replay: None,
        });
        b.record(&answered("c", 502, 1));
        a.merge(b);
        assert_eq!(a.total(), 9);
        assert_eq!(a.answered(), 8);
        let replays: Vec<(&str, u64)> = a.replays().iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(replays, [("server_error", 1)]);
        let counts: Vec<(&str, u64)> = a
            .by_status()
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(counts, [("201", 6), ("402", 1), ("502", 1), ("timeout", 1)]);
        let slow: Vec<&str> = a.slowest().iter().map(|s| s.request_id.as_str()).collect();
        assert_eq!(slow, ["b", "a6", "a5", "a4", "a3"]);
        assert_eq!(a.max_latency().as_millis(), 100);
        assert_eq!(a.latency_at(0.5).as_millis(), 3);
        assert_eq!(a.cause(), Some("operation timed out"));
        // (1 + … + 6 + 100 + 10 000 + 1) ms over 9 orders.
        assert_eq!(a.mean_busy().as_micros(), 1_124_666);
    }
}

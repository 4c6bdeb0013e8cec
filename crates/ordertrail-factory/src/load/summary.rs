//! [`Summary`]: what a load run reports, as text or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::reach::{Reach, format_rate};
use super::shipped::Shipped;
use super::stats::Stats;

/// Below this share of the asked rate, the summary says why the rate was not reached.
const SHORTFALL: f64 = 0.9;

/// The binary's name in the `follow` commands, unless [`Summary::follow_with`] says otherwise.
const PROGRAM: &str = "ordertrail";

/// The command that shows the journey of `request_id`.
fn follow_command(program: &str, request_id: &str) -> String {
    format!("{program} follow {request_id}")
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Orders placed, answered or not.
    pub orders: u64,
    /// Orders that got an HTTP answer.
    pub answered: u64,
    /// Wall time of the run, in seconds.
    pub elapsed_s: f64,
    /// Orders per second over the run.
    pub orders_per_s: f64,
    /// Orders per second asked with `--rate`; `null` without one.
    pub asked_rate: Option<f64>,
    /// Orders in flight at once.
    pub concurrency: usize,
    /// Whether Ctrl-C or SIGTERM ended the run early.
    pub interrupted: bool,
    /// The mean time an order held a worker, answered or not, in milliseconds.
    pub busy_ms: f64,
    /// Latency of answered orders.
    pub latency_ms: Latency,
    /// Counts by HTTP status (`"201"`, `"402"`) or failure (`"timeout"`, `"connect"`).
    pub statuses: BTreeMap<String, u64>,
    /// Orders whose `DEBUG` detail the services replayed (the flight recorder), by trigger
    /// (`"server_error"`, `"slow"`, `"debug"`…), as the gateway's `x-ordertrail-replay` said.
    pub replays: BTreeMap<String, u64>,
    /// The slowest answered orders, slowest first.
    pub slowest: Vec<SlowOrder>,
    /// The confirmed orders' time from order to shipped, when shipping was asked
    /// ([`LoadConfig::shipping`](super::LoadConfig::shipping)); `null` otherwise.
    pub order_to_shipped: Option<Shipped>,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One of the slowest orders, and how to follow it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowOrder {
    /// The request id the gateway answered with.
    pub request_id: String,
    /// Its HTTP status.
    pub status: u16,
    /// Its latency in milliseconds.
    pub latency_ms: f64,
    /// The command that shows its journey.
    pub follow: String,
}

impl Summary {
    /// The summary of `stats` gathered over `elapsed`.
    pub fn new(stats: &Stats, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Self {
            orders: stats.total(),
            answered: stats.answered(),
            elapsed_s: round3(elapsed.as_secs_f64()),
            orders_per_s: round3(stats.total() as f64 / seconds),
            asked_rate: None,
            concurrency: 0,
            interrupted: false,
            busy_ms: ms(stats.mean_busy()),
            latency_ms: Latency {
                p50: ms(stats.latency_at(0.50)),
                p90: ms(stats.latency_at(0.90)),
                p99: ms(stats.latency_at(0.99)),
                max: ms(stats.max_latency()),
                mean: ms(stats.mean_latency()),
            },
            statuses: stats.by_status().clone(),
            replays: stats.replays().clone(),
            slowest: stats
                .slowest()
                .iter()
                .map(|s| SlowOrder {
                    request_id: s.request_id.clone(),
                    status: s.status,
                    latency_ms: ms(s.latency),
                    follow: follow_command(PROGRAM, &s.request_id),
                })
                .collect(),
            order_to_shipped: None,
        }
    }

    /// The same summary with `program` (how the user runs the binary, like
    /// `target/release/ordertrail`) in each slowest order's `follow` command, instead of
    /// `ordertrail`.
    #[must_use]
    pub fn follow_with(mut self, program: &str) -> Self {
        for slow in &mut self.slowest {
            slow.follow = follow_command(program, &slow.request_id);
        }
        self
    }

    /// The same summary of a run that asked `rate` of `concurrency` workers.
    #[must_use]
    pub fn asked(mut self, rate: Option<f64>, concurrency: usize) -> Self {
        self.asked_rate = rate;
        self.concurrency = concurrency;
        self
    }

    /// Why the run placed well under the asked rate; `None` when it placed about as many.
    pub fn shortfall(&self) -> Option<String> {
        let asked = self.asked_rate?;
        if self.orders_per_s >= asked * SHORTFALL {
            return None;
        }
        let reach = Reach {
            asked,
            concurrency: self.concurrency,
            latency: Duration::from_secs_f64(self.busy_ms / 1000.0),
        };
        let head = format!(
            "asked {}, placed {}",
            format_rate(asked),
            format_rate(self.orders_per_s)
        );
        Some(match reach.warning() {
            Some(why) => format!("{head}: {why}"),
            None => format!(
                "{head}, though {} in flight at {:.1} ms allow {}: the gateway or this \
                 machine held it back",
                self.concurrency,
                self.busy_ms,
                format_rate(reach.max_rate())
            ),
        })
    }

    /// The summary for a person.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let stopped = if self.interrupted {
            ", interrupted"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "orders    {} in {:.2} s: {} ({} answered{stopped})",
            self.orders,
            self.elapsed_s,
            format_rate(self.orders_per_s),
            self.answered
        );
        if let Some(shortfall) = self.shortfall() {
            let _ = writeln!(out, "rate      {shortfall}");
        }
        let l = &self.latency_ms;
        let _ = writeln!(
            out,
            "latency   p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
            l.p50, l.p90, l.p99, l.max
        );
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        if let Some(shipped) = &self.order_to_shipped {
            let l = &shipped.latency_ms;
            let _ = writeln!(
                out,
                "shipped   p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms   ({} of {} confirmed orders looked up)",
                l.p50, l.p90, l.p99, l.max, shipped.shipped, shipped.sampled
            );
        }
        let _ = writeln!(out, "status    {}", statuses.join("   "));
        if !self.replays.is_empty() {
            let replays: Vec<String> = self
                .replays
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(out, "replayed  {}", replays.join("   "));
        }
        if !self.slowest.is_empty() {
            out.push_str("slowest\n");
        }
        for slow in &self.slowest {
            let _ = writeln!(
                out,
                "  {:>9.2} ms  {}  {}",
                slow.latency_ms, slow.status, slow.follow
            );
        }
        out
    }
}

fn ms(duration: Duration) -> f64 {
    round3(duration.as_secs_f64() * 1000.0)
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stats::Outcome;
    use serde_json::Value;

    #[test]
    fn text_and_json_carry_the_same_numbers() {
        let mut stats = Stats::default();
        stats.record(&Outcome {
            request_id: Some("r-1".into()),
            status: Some(201),
            failure: None,
            cause: None,
            latency: Duration::from_millis(4),
            replay: None,
        });
        stats.record(&Outcome {
            request_id: Some("r-2".into()),
            status: Some(502),
            failure: None,
            cause: None,
            latency: Duration::from_millis(1),
            replay: Some("server_error".into()),
        });
        let summary = Summary::new(&stats, Duration::from_millis(1000));
        assert_eq!(summary.orders_per_s, 2.0);
        let text = summary.to_text();
        assert!(text.contains("status    201: 1   502: 1"), "{text}");
        assert!(text.contains("replayed  server_error: 1"), "{text}");
        assert!(text.contains("201  ordertrail follow r-1"), "{text}");
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["slowest"][0]["follow"], "ordertrail follow r-1");
        assert_eq!(json["statuses"]["201"], 1);
        assert_eq!(json["replays"]["server_error"], 1);
        assert_eq!(json["asked_rate"], Value::Null);

        let shown = summary.follow_with("target/release/ordertrail");
        assert_eq!(
            shown.slowest[0].follow,
            "target/release/ordertrail follow r-1"
        );
        assert!(
            shown
                .to_text()
                .contains("201  target/release/ordertrail follow r-1")
        );
    }

    fn paced(asked: f64, concurrency: usize, orders: u64, ms_each: u64) -> Summary {
        let mut stats = Stats::default();
        for n in 0..orders {
            stats.record(&Outcome {
                request_id: Some(format!("r-{n}")),
                status: Some(201),
                failure: None,
                cause: None,
                latency: Duration::from_millis(ms_each),
                replay: None,
            });
        }
        Summary::new(&stats, Duration::from_secs(2)).asked(Some(asked), concurrency)
    }

    #[test]
    fn a_rate_well_under_the_asked_one_is_explained() {
        // 8 workers at 300 ms: 50 orders in 2 s instead of 100.
        let text = paced(50.0, 8, 50, 300).to_text();
        assert!(
            text.starts_with("orders    50 in 2.00 s: 25.0 orders/s (50 answered)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\nrate      asked 50.0 orders/s, placed 25.0 orders/s: --rate 50.0 orders/s \
                 cannot be reached with --concurrency 8: orders take 300 ms"
            ),
            "{text}"
        );
        assert!(text.contains("--concurrency 15 would reach it\n"), "{text}");
    }

    #[test]
    fn a_rate_about_reached_or_not_asked_says_nothing_more() {
        assert_eq!(paced(50.0, 8, 95, 10).shortfall(), None);
        let unpaced = paced(50.0, 8, 10, 10).asked(None, 8);
        assert_eq!(unpaced.shortfall(), None);
        let held = paced(50.0, 8, 20, 10).shortfall().expect("a shortfall");
        assert!(held.contains("allow 800.0 orders/s"), "{held}");
        assert!(!paced(50.0, 8, 20, 10).to_text().contains("--concurrency"));
    }
}

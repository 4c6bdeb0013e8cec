//! Order to shipped: after a run, how long the confirmed orders took from their confirmation to
//! their shipment, as shipping measured it (`GET /shipments/{order_id}` answers
//! `order_to_shipped_ms`). The HTTP latency ends with the answer; this is the work after it,
//! through the outbox, the relay and the broker.
//!
//! At most [`MAX_SAMPLED`] confirmed orders are looked up (the first ones of each worker), a few
//! at a time; an order not shipped yet is asked again until [`WAIT_FOR_SHIPPED`] has passed,
//! then counted as not shipped.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde::Serialize;

use super::summary::Latency;

/// The most confirmed orders looked up after a run.
pub const MAX_SAMPLED: usize = 5_000;
/// How long the lookups may wait for orders still on their way.
pub const WAIT_FOR_SHIPPED: Duration = Duration::from_secs(10);
/// Lookups in flight at once.
const AT_ONCE: usize = 16;

/// The order-to-shipped latency of the sampled orders.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shipped {
    /// Confirmed orders looked up.
    pub sampled: u64,
    /// Of those, shipped within the wait.
    pub shipped: u64,
    /// Percentiles over the shipped ones, in milliseconds.
    pub latency_ms: Latency,
}

/// Looks up `order_ids` at shipping's base URL `shipping`.
pub(super) async fn measure(
    client: &reqwest::Client,
    shipping: &str,
    order_ids: &[String],
) -> Shipped {
    let base = shipping.trim_end_matches('/');
    let deadline = Instant::now() + WAIT_FOR_SHIPPED;
    let times: Vec<Option<f64>> = futures_util::stream::iter(order_ids)
        .map(|id| wait_for(client, format!("{base}/shipments/{id}"), deadline))
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    summarise(order_ids.len(), times.into_iter().flatten())
}

/// The order's `order_to_shipped_ms`, asking again every 100 ms until `deadline`.
async fn wait_for(client: &reqwest::Client, url: String, deadline: Instant) -> Option<f64> {
    loop {
        if let Some(ms) = lookup(client, &url).await {
            return Some(ms);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn lookup(client: &reqwest::Client, url: &str) -> Option<f64> {
    let res = client.get(url).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    let shipment: serde_json::Value = res.json().await.ok()?;
    shipment["order_to_shipped_ms"].as_f64()
}

/// Percentiles of `times` (milliseconds), kept in microseconds.
fn summarise(sampled: usize, times: impl Iterator<Item = f64>) -> Shipped {
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
    for ms in times {
        let micros = (ms * 1_000.0).round().max(1.0) as u64;
        let _ = histogram.record(micros.min(3_600_000_000));
    }
    let at = |q: f64| histogram.value_at_quantile(q) as f64 / 1_000.0;
    Shipped {
        sampled: sampled as u64,
        shipped: histogram.len(),
        latency_ms: Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: histogram.max() as f64 / 1_000.0,
            mean: (histogram.mean() / 1_000.0 * 1_000.0).round() / 1_000.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_over_the_shipped_ones_only() {
        let times = (1..=100).map(f64::from);
        let shipped = summarise(120, times);
        assert_eq!((shipped.sampled, shipped.shipped), (120, 100));
        assert!((shipped.latency_ms.p50 - 50.0).abs() < 0.1, "{shipped:?}");
        assert!((shipped.latency_ms.p99 - 99.0).abs() < 0.1, "{shipped:?}");
        assert!((shipped.latency_ms.max - 100.0).abs() < 0.1, "{shipped:?}");
    }

    #[test]
    fn nothing_shipped_is_all_zero() {
        let shipped = summarise(3, std::iter::empty());
        assert_eq!(shipped.shipped, 0);
        assert_eq!(shipped.latency_ms.p50, 0.0);
    }
}

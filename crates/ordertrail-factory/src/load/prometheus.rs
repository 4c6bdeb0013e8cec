//! [`PrometheusLatency`]: what Prometheus computed for a load run's window, to print beside the
//! run's own percentiles.
//!
//! After the run, it waits (at most [`SCRAPE_WAIT`]) until Prometheus has scraped the gateway
//! after the run ended, then asks for
//! `histogram_quantile(q, sum by (le) (increase(<gateway POST /orders buckets>[<run>s])))` at
//! the run's end, for the median and the 99th percentile. Prometheus interpolates inside a
//! bucket (5 ms … 10 s, the OpenTelemetry boundaries), so its numbers are coarser than the
//! run's own HDR histogram; a large gap between the two means the gateway's view (server-side,
//! from the request's arrival to its response head) and the client's differ.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

/// How long to wait for a scrape that covers the end of the run.
pub const SCRAPE_WAIT: Duration = Duration::from_secs(20);

/// The gateway's `POST /orders` histogram, as Prometheus names its series.
pub const GATEWAY_ORDERS: &str = r#"http_server_request_duration_seconds_bucket{job="gateway",http_route="/orders",http_request_method="POST"}"#;

/// Prometheus's percentiles of the gateway's `POST /orders` over a run, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrometheusLatency {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The range the quantiles were computed over, in seconds.
    pub window_s: u64,
    /// The query, with `{q}` for the quantile.
    pub query: String,
}

/// Asking Prometheus failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrometheusError {
    /// The URL does not parse.
    #[error("--prometheus {0:?} is not a URL")]
    Url(String),
    /// Prometheus could not be reached or answered with an error.
    #[error("Prometheus did not answer")]
    Request(#[source] reqwest::Error),
    /// The answer was not a successful query result.
    #[error("Prometheus answered {0}")]
    Answer(String),
    /// No scrape of the gateway covered the end of the run in time.
    #[error("Prometheus has no scrape of the gateway after the run within {0:?}")]
    NoScrape(Duration),
    /// The window holds no orders (the series is missing or did not grow).
    #[error("Prometheus has no gateway POST /orders in the run's window")]
    NoData,
}

/// Asks Prometheus at `base` for the percentiles of a run that ended at `end` and lasted
/// `elapsed`.
pub async fn latency(
    base: &str,
    end: SystemTime,
    elapsed: Duration,
) -> Result<PrometheusLatency, PrometheusError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(PrometheusError::Request)?;
    let end_s = unix_seconds(end);
    wait_for_scrape(&client, base, end_s).await?;
    let window_s = elapsed.as_secs() + 1;
    let query =
        format!("histogram_quantile({{q}}, sum by (le) (increase({GATEWAY_ORDERS}[{window_s}s])))");
    let at = |q: &str| query.replace("{q}", q);
    let p50 = instant(&client, base, &at("0.5"), end_s).await?;
    let p99 = instant(&client, base, &at("0.99"), end_s).await?;
    Ok(PrometheusLatency {
        p50_ms: p50 * 1000.0,
        p99_ms: p99 * 1000.0,
        window_s,
        query,
    })
}

/// Waits until the gateway's last scrape is at or after `end_s`.
async fn wait_for_scrape(
    client: &reqwest::Client,
    base: &str,
    end_s: f64,
) -> Result<(), PrometheusError> {
    let scraped = format!(
        "max(timestamp({}))",
        GATEWAY_ORDERS.replace("_bucket", "_count")
    );
    let deadline = Instant::now() + SCRAPE_WAIT;
    loop {
        let last = instant(client, base, &scraped, unix_seconds(SystemTime::now())).await;
        if last.is_ok_and(|t| t >= end_s) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(PrometheusError::NoScrape(SCRAPE_WAIT));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The single value of `promql` at `time`; [`PrometheusError::NoData`] when there is none or
/// it is not a number (`NaN`: no orders in the window).
async fn instant(
    client: &reqwest::Client,
    base: &str,
    promql: &str,
    time: f64,
) -> Result<f64, PrometheusError> {
    let endpoint = format!("{}/api/v1/query", base.trim_end_matches('/'));
    let params = [("query", promql.to_owned()), ("time", format!("{time:.3}"))];
    let url = reqwest::Url::parse_with_params(&endpoint, &params)
        .map_err(|_| PrometheusError::Url(base.to_owned()))?;
    let response = client.get(url).send().await;
    let body: Value = response
        .and_then(reqwest::Response::error_for_status)
        .map_err(PrometheusError::Request)?
        .json()
        .await
        .map_err(PrometheusError::Request)?;
    value_of(&body)
}

/// The number in a successful instant-query answer.
fn value_of(body: &Value) -> Result<f64, PrometheusError> {
    if body["status"] != "success" {
        return Err(PrometheusError::Answer(body.to_string()));
    }
    let first = &body["data"]["result"][0]["value"][1];
    let value = first.as_str().and_then(|v| v.parse::<f64>().ok());
    value
        .filter(|v| v.is_finite())
        .ok_or(PrometheusError::NoData)
}

fn unix_seconds(time: SystemTime) -> f64 {
    let since = time.duration_since(UNIX_EPOCH);
    since.map(|d| d.as_secs_f64()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_number_is_read_and_nan_is_no_data() {
        let ok = json!({"status": "success", "data": {"result": [{"value": [1.0, "0.0123"]}]}});
        assert_eq!(value_of(&ok).unwrap(), 0.0123);
        let nan = json!({"status": "success", "data": {"result": [{"value": [1.0, "NaN"]}]}});
        assert!(matches!(value_of(&nan), Err(PrometheusError::NoData)));
        let empty = json!({"status": "success", "data": {"result": []}});
        assert!(matches!(value_of(&empty), Err(PrometheusError::NoData)));
        let error = json!({"status": "error", "error": "bad_data"});
        assert!(matches!(value_of(&error), Err(PrometheusError::Answer(_))));
    }
}

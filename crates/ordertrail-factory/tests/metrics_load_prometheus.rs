//! `ordertrail load --prometheus URL` against the real binary's services scraped by a real
//! Prometheus: the summary carries the p50/p99 Prometheus computed from the gateway's histogram
//! for the run's window, beside the run's own.

use std::time::Duration;

use ordertrail_testkit::{LocalRun, Prometheus, binary};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_prints_prometheus_percentiles_for_its_window() {
    let run = LocalRun::start(&binary!()).await;
    let test = "load_prints_prometheus_percentiles_for_its_window";
    let Some(prometheus) = Prometheus::start(test, &run.targets()).await else {
        return;
    };
    // One order scraped before the run, so the window sees the counts grow.
    run.place_dispatched("load-prometheus-first").await;
    let series =
        r#"http_server_request_duration_seconds_count{job="gateway",http_route="/orders"}"#;
    prometheus.wait_for(series, Duration::from_secs(20)).await;

    let args = [
        "load",
        "--gateway",
        &run.gateway(),
        "--duration",
        "3s",
        "--rate",
        "20",
        "--concurrency",
        "4",
        "--prometheus",
        &prometheus.url,
        "--json",
    ];
    let output = binary!().output(args.map(str::to_owned).to_vec()).await;
    assert!(
        output.status.success(),
        "load failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).expect("load --json");
    let seen = &summary["prometheus"];
    let (p50, p99) = (seen["p50_ms"].as_f64(), seen["p99_ms"].as_f64());
    let (Some(p50), Some(p99)) = (p50, p99) else {
        panic!("no Prometheus percentiles: {summary:#}");
    };
    assert!(0.0 < p50 && p50 <= p99 && p99 <= 10_000.0, "{summary:#}");
    assert!(
        seen["window_s"]
            .as_u64()
            .is_some_and(|w| (3..=5).contains(&w)),
        "{summary:#}"
    );
    assert!(
        summary["latency_ms"]["p99"].as_f64().is_some(),
        "the run's own p99 is there too"
    );
}

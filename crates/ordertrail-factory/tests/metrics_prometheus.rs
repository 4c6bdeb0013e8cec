//! A real Prometheus (Debian's `prometheus`, exemplar storage on) scraping the four services of
//! the real binary: orders placed through the gateway show up as exemplars whose trace is one
//! of those orders' traces — the gateway's own server span, which the collector received and
//! `follow` resolves from the exemplar's request id — and `histogram_quantile` over the route
//! gives a latency within the buckets.

use std::collections::HashMap;
use std::time::Duration;

use ordertrail_testkit::{LocalRun, Placed, Prometheus, binary, poll_async};
use serde_json::Value;

/// How long scrapes may take to bring what the test waits for.
const SCRAPED_WITHIN: Duration = Duration::from_secs(30);

const GATEWAY_ORDERS: &str = r#"http_server_request_duration_seconds_bucket{job="gateway",http_route="/orders",http_request_method="POST"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_lead_from_the_latency_histogram_to_the_orders_traces() {
    let run = LocalRun::start(&binary!()).await;
    let test = "exemplars_lead_from_the_latency_histogram_to_the_orders_traces";
    let Some(prometheus) = Prometheus::start(test, &run.targets()).await else {
        return;
    };
    let mut placed = HashMap::new();
    // A first order, scraped before the others, so `rate` sees the counts grow.
    let first = run.place_dispatched("metrics-order-first").await;
    placed.insert(first.traceresponse.trace_id.clone(), first);
    wait_for_series(&prometheus).await;
    for i in 0..3 {
        let order = run.place_dispatched(&format!("metrics-order-{i}")).await;
        placed.insert(order.traceresponse.trace_id.clone(), order);
    }

    let exemplars = wait_for_exemplars(&prometheus, &placed).await;
    for exemplar in &exemplars {
        let labels = &exemplar["labels"];
        let trace_id = labels["trace_id"].as_str().expect("a trace_id label");
        let order = placed
            .get(trace_id)
            .unwrap_or_else(|| panic!("exemplar of a trace no order has: {exemplar}"));
        assert_eq!(labels["span_id"], order.traceresponse.span_id.as_str());
        assert_eq!(labels["request_id"], order.request_id.as_str());
    }
    let exemplar = &exemplars[0]["labels"];
    assert_span_received(&run, exemplar).await;
    assert_follow_resolves(&run, exemplar).await;

    let p99 = wait_for_quantile(&prometheus).await;
    assert!(
        p99 > 0.0 && p99 <= 10.0,
        "p99 {p99} s is outside the buckets"
    );
}

/// The exemplars Prometheus stored for the gateway's `POST /orders`, once at least one of them
/// names one of `placed`.
async fn wait_for_exemplars(
    prometheus: &Prometheus,
    placed: &HashMap<String, Placed>,
) -> Vec<Value> {
    let found = poll_async(SCRAPED_WITHIN, Duration::from_millis(500), || async {
        let series = prometheus
            .query_exemplars(GATEWAY_ORDERS, Duration::from_secs(300))
            .await;
        let exemplars: Vec<Value> = series
            .as_array()?
            .iter()
            .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
            .collect();
        let ours = exemplars.iter().any(|e| {
            e["labels"]["trace_id"]
                .as_str()
                .is_some_and(|t| placed.contains_key(t))
        });
        ours.then_some(exemplars)
    });
    found.await.unwrap_or_else(|| {
        panic!(
            "no exemplar of the orders within {SCRAPED_WITHIN:?}; Prometheus said:\n{}",
            prometheus.log()
        )
    })
}

/// The collector (traces.jsonl's source) holds the gateway server span the exemplar names.
async fn assert_span_received(run: &LocalRun, exemplar: &Value) {
    let (trace, span) = (&exemplar["trace_id"], &exemplar["span_id"]);
    let received = run.collector.received();
    let found = received
        .wait_for(
            |r| {
                r.spans().iter().any(|s| {
                    s.trace_id() == *trace
                        && s.span_id() == *span
                        && s.service_name() == Some("gateway")
                })
            },
            Duration::from_secs(15),
        )
        .await;
    assert!(found, "the collector has no gateway span {trace}/{span}");
}

/// `ordertrail follow <request_id>` finds the exemplar's trace.
async fn assert_follow_resolves(run: &LocalRun, exemplar: &Value) {
    let request_id = exemplar["request_id"].as_str().expect("a request_id label");
    let args = ["follow", request_id, "--log-dir"].map(str::to_owned);
    let mut args = args.to_vec();
    args.extend([run.dir.display().to_string(), "--json".to_owned()]);
    let output = binary!().output(args).await;
    assert!(
        output.status.success(),
        "follow {request_id}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let journey: Value = serde_json::from_slice(&output.stdout).expect("follow --json");
    let traces: Vec<&Value> = journey["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .collect();
    assert!(
        traces.iter().any(|t| t["trace_id"] == exemplar["trace_id"]),
        "follow {request_id} does not show trace {}: {journey:#}",
        exemplar["trace_id"]
    );
}

/// Waits until Prometheus has scraped the gateway's `POST /orders` series.
async fn wait_for_series(prometheus: &Prometheus) {
    let count = GATEWAY_ORDERS.replace("_bucket", "_count");
    let found = poll_async(SCRAPED_WITHIN, Duration::from_millis(200), || async {
        let result = prometheus.query(&count).await;
        result
            .as_array()
            .is_some_and(|r| !r.is_empty())
            .then_some(())
    });
    assert!(
        found.await.is_some(),
        "{count} never scraped: {}",
        prometheus.log()
    );
}

/// The p99 of the gateway's `POST /orders` over the last minute, once Prometheus has two scrapes
/// of it.
async fn wait_for_quantile(prometheus: &Prometheus) -> f64 {
    let promql = format!(
        "histogram_quantile(0.99, sum by (le) (rate({}[1m])))",
        GATEWAY_ORDERS
    );
    let found = poll_async(SCRAPED_WITHIN, Duration::from_millis(500), || async {
        let result = prometheus.query(&promql).await;
        let value = result.get(0)?["value"][1].as_str()?.parse::<f64>().ok()?;
        value.is_finite().then_some(value)
    });
    found
        .await
        .unwrap_or_else(|| panic!("no finite {promql} within {SCRAPED_WITHIN:?}"))
}

//! OTLP metrics from the real binary: the four services export their RED histograms over gRPC
//! (every 500 ms here, `OTEL_METRIC_EXPORT_INTERVAL`) to the in-test collector, which writes
//! them to `metrics.jsonl` beside the traces: the gateway's `POST /orders` histogram arrives
//! with the semantic-convention attributes and the bucket boundaries of the conventions.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use ordertrail::metrics::HTTP_DURATION_BUCKETS;
use ordertrail_collector::{METRICS_FILE, attribute_int, attribute_str};
use ordertrail_testkit::{LocalRun, binary};

/// The gateway's `POST /orders` points of `http.server.request.duration` in `request`.
fn gateway_orders(request: &ExportMetricsServiceRequest) -> Vec<HistogramDataPoint> {
    let mut points = Vec::new();
    for resource in &request.resource_metrics {
        let attributes = resource.resource.as_ref().map(|r| r.attributes.as_slice());
        if attribute_str(attributes.unwrap_or_default(), "service.name") != Some("gateway") {
            continue;
        }
        let metrics = resource.scope_metrics.iter().flat_map(|s| &s.metrics);
        for metric in metrics.filter(|m| m.name == "http.server.request.duration") {
            let Some(Data::Histogram(histogram)) = &metric.data else {
                continue;
            };
            let orders = histogram.data_points.iter().filter(|p| {
                attribute_str(&p.attributes, "http.route") == Some("/orders")
                    && attribute_str(&p.attributes, "http.request.method") == Some("POST")
            });
            points.extend(orders.cloned());
        }
    }
    points
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_export_their_histograms_to_metrics_jsonl() {
    let run = LocalRun::start(&binary!()).await;
    run.place_dispatched("metrics-otlp-1").await;
    let received = run.collector.received();
    let arrived = received
        .wait_for(
            |r| {
                r.metric_requests()
                    .iter()
                    .any(|m| !gateway_orders(m).is_empty())
            },
            Duration::from_secs(15),
        )
        .await;
    assert!(arrived, "no gateway histogram: {:?}", received.counts());

    let text = std::fs::read_to_string(run.dir.join(METRICS_FILE)).expect("metrics.jsonl");
    let lines: Vec<ExportMetricsServiceRequest> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("an OTLP/JSON metrics line"))
        .collect();
    let point = lines
        .iter()
        .flat_map(gateway_orders)
        .last()
        .expect("the gateway's histogram is in metrics.jsonl");
    assert!(point.count >= 1, "{point:?}");
    assert_eq!(point.explicit_bounds, HTTP_DURATION_BUCKETS.to_vec());
    assert_eq!(
        attribute_int(&point.attributes, "http.response.status_code"),
        Some(201)
    );
}

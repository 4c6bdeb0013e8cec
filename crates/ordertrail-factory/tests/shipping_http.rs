//! Without a broker: the relay delivers orders' outbox to shipping over HTTP, with the same
//! headers, spans and at-least-once semantics, so the order's journey still reaches shipping
//! under one request id and one trace. Nothing to install.

use std::collections::BTreeSet;
use std::time::Duration;

use http::StatusCode;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::SpanData;
use ordertrail_factory::broker::{Broker, SUBJECT};
use ordertrail_factory::services::shipping::ShippingFaults;
use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use ordertrail_testkit::{
    APPROVED_CARD, Line, LineExt, Traced, client, order_body, poll, post_order,
};

async fn factory(shipping: ShippingFaults) -> Factory {
    Traced::install();
    let options = ServiceOptions {
        broker: Broker::Http,
        shipping,
        ..ServiceOptions::default()
    };
    Factory::start(options).await.expect("the services start")
}

async fn place(factory: &Factory, request_id: &str) -> String {
    let gateway = factory.url(ServiceName::Gateway);
    let body = order_body("sticker-pack", 1, APPROVED_CARD);
    let reply = post_order(&client(), &gateway, &body, Some(request_id)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{request_id}");
    reply.json()["order_id"]
        .as_str()
        .expect("an order id")
        .to_owned()
}

/// The lines of `request_id` once its order is shipped (at most `within`).
async fn shipped_lines(request_id: &str, within: Duration) -> Vec<Line> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let lines = Traced::install().lines();
        let ours: Vec<Line> = lines
            .into_iter()
            .filter(|l| l.request_id() == Some(request_id))
            .collect();
        if ours.iter().any(|l| l.message() == Some("order shipped")) {
            return ours;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{request_id} not shipped in {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    let found = span.attributes.iter().find(|kv| kv.key.as_str() == key);
    found.map(|kv| kv.value.as_str().into_owned())
}

/// The span of `kind` for `order_id`, once it ended (the publish span ends after shipping
/// answered, so after the shipped line).
async fn span_of(order_id: &str, kind: SpanKind) -> SpanData {
    let find = || {
        let spans = Traced::install().spans();
        spans.into_iter().find(|s| {
            s.span_kind == kind && attribute(s, "messaging.message.id").as_deref() == Some(order_id)
        })
    };
    let found = poll(Duration::from_secs(5), Duration::from_millis(50), find).await;
    found.unwrap_or_else(|| panic!("no {kind:?} span for {order_id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_reaches_shipping_over_http_in_one_id_and_trace() {
    let factory = factory(ShippingFaults::default()).await;
    let order_id = place(&factory, "journey-http-1").await;
    let ours = shipped_lines("journey-http-1", Duration::from_secs(10)).await;

    let services: BTreeSet<&str> = ours.iter().filter_map(|l| l.service()).collect();
    assert_eq!(
        services,
        BTreeSet::from(["gateway", "orders", "inventory", "payments", "shipping"])
    );
    let traces: BTreeSet<&str> = ours.iter().filter_map(|l| l.text("trace_id")).collect();
    assert_eq!(traces.len(), 1, "one trace on every line: {traces:?}");
    let shipped = ours.iter().find(|l| l.message() == Some("order shipped"));
    assert_eq!(
        shipped.and_then(|l| l.text("order_id")),
        Some(order_id.as_str())
    );

    let publish = span_of(&order_id, SpanKind::Producer).await;
    let process = span_of(&order_id, SpanKind::Consumer).await;
    assert_eq!(
        attribute(&publish, "messaging.system").as_deref(),
        Some("http")
    );
    assert_eq!(
        attribute(&publish, "messaging.destination.name").as_deref(),
        Some(SUBJECT)
    );
    assert_eq!(
        traces.first().copied(),
        Some(publish.span_context.trace_id().to_string().as_str())
    );
    assert_eq!(
        process.span_context.trace_id(),
        publish.span_context.trace_id()
    );

    let url = format!(
        "{}/shipments/{order_id}",
        factory.url(ServiceName::Shipping)
    );
    let shipment: serde_json::Value = client()
        .get(url)
        .send()
        .await
        .expect("shipping answers")
        .json()
        .await
        .expect("a shipment");
    assert_eq!(shipment["request_id"], "journey-http-1");
    assert!(
        shipment["order_to_shipped_ms"].as_f64().is_some(),
        "{shipment}"
    );
    factory.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_http_deliveries_are_retried_until_shipped_with_the_id_on_each_attempt() {
    let faults = ShippingFaults {
        fail_rate: 0.6,
        latency: Duration::ZERO,
    };
    let factory = factory(faults).await;
    let mut request_ids = Vec::new();
    // Every first attempt succeeds with a chance of 0.4 each: 0.4^5 (1%) for five orders made
    // the retry assertion below flaky; 0.4^12 is under 2 in 100,000.
    for i in 0..12 {
        let request_id = format!("retry-http-{i}");
        place(&factory, &request_id).await;
        request_ids.push(request_id);
    }
    let mut failed = 0;
    for request_id in &request_ids {
        let ours = shipped_lines(request_id, Duration::from_secs(30)).await;
        let shipped = ours.iter().filter(|l| l.message() == Some("order shipped"));
        assert_eq!(shipped.count(), 1, "{request_id} shipped once");
        failed += ours
            .iter()
            .filter(|l| l.message() == Some("outbox delivery failed; retrying"))
            .count();
    }
    assert!(
        failed > 0,
        "with 60% failing attempts, some delivery was retried"
    );
    factory.stop().await;
}

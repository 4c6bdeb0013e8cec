//! `load` with `--shipping`: after the run, the confirmed orders' time from order to shipped,
//! read at shipping, next to the HTTP latency — here through the HTTP fallback, so nothing
//! needs installing.

use ordertrail_factory::broker::Broker;
use ordertrail_factory::load::{LoadConfig, run};
use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_reports_order_to_shipped_for_every_confirmed_order() {
    let options = ServiceOptions {
        broker: Broker::Http,
        ..ServiceOptions::default()
    };
    let factory = Factory::start(options).await.expect("the services start");
    let config = LoadConfig::new(factory.url(ServiceName::Gateway))
        .orders(40)
        .concurrency(4)
        .decline_rate(0.25)
        .shipping(factory.url(ServiceName::Shipping));
    let summary = run(&config, |_| {}, std::future::pending())
        .await
        .expect("the run");

    let confirmed = summary.statuses.get("201").copied().unwrap_or(0);
    assert!(confirmed > 0 && confirmed < 40, "{:?}", summary.statuses);
    let shipped = summary.order_to_shipped.expect("measured");
    assert_eq!((shipped.sampled, shipped.shipped), (confirmed, confirmed));
    let l = shipped.latency_ms;
    assert!(
        0.0 < l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max,
        "{l:?}"
    );
    let text = summary.to_text();
    assert!(text.contains("shipped   p50"), "{text}");
    let json: serde_json::Value = serde_json::to_value(&summary).expect("serialises");
    assert_eq!(json["order_to_shipped"]["shipped"], confirmed);
    factory.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_shipping_nothing_is_measured() {
    let factory = Factory::start(ServiceOptions::default())
        .await
        .expect("start");
    let config = LoadConfig::new(factory.url(ServiceName::Gateway)).orders(5);
    let summary = run(&config, |_| {}, std::future::pending())
        .await
        .expect("the run");
    assert_eq!(summary.order_to_shipped, None);
    assert!(!summary.to_text().contains("shipped   p50"));
    factory.stop().await;
}

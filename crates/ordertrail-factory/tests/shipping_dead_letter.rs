//! An event shipping keeps failing is redelivered with a growing delay, each attempt logged
//! with the order's request id, and after the last attempt lands in the dead-letter stream with
//! its headers, the reason and the number of attempts.
//!
//! Needs Debian's `nats-server` (`.ci/run` installs it).

use std::time::Duration;

use http::StatusCode;
use ordertrail_factory::broker::{Broker, DEAD_LETTER_STREAM};
use ordertrail_factory::services::shipping::ShippingFaults;
use ordertrail_factory::services::{Factory, Redelivery, ServiceName, ServiceOptions};
use ordertrail_testkit::{
    APPROVED_CARD, LineExt, NatsServer, Traced, client, eventually, order_body, post_order,
};

const ATTEMPTS: u32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_failing_every_attempt_is_dead_lettered_after_the_last() {
    let Some(nats) = NatsServer::start("shipping_dead_letter").await else {
        return;
    };
    Traced::install();
    let options = ServiceOptions {
        broker: Broker::Nats {
            url: nats.url.clone(),
        },
        shipping: ShippingFaults {
            fail_rate: 1.0,
            latency: Duration::ZERO,
        },
        redelivery: Redelivery {
            ack_wait: Duration::from_secs(5),
            max_attempts: ATTEMPTS,
        },
        ..ServiceOptions::default()
    };
    let factory = Factory::start(options).await.expect("the services start");
    let gateway = factory.url(ServiceName::Gateway);
    let body = order_body("mug-classic", 1, APPROVED_CARD);
    let reply = post_order(&client(), &gateway, &body, Some("failing-1")).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let order_id = reply.json()["order_id"].as_str().expect("an id").to_owned();

    let [dead] = &nats.read(DEAD_LETTER_STREAM, 1).await[..] else {
        panic!("one dead letter");
    };
    let headers = dead.headers.clone().expect("headers kept");
    let header = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(header("X-Request-ID").as_deref(), Some("failing-1"));
    assert_eq!(header("Nats-Msg-Id"), Some(order_id.clone()));
    assert_eq!(header("Ordertrail-Attempts"), Some(ATTEMPTS.to_string()));
    assert_eq!(
        header("Ordertrail-Error").as_deref(),
        Some("injected shipping failure")
    );

    eventually("the dead-letter line", Duration::from_secs(5), || {
        let lines = Traced::install().lines();
        lines.iter().any(|l| {
            l.message() == Some("event dead-lettered") && l.request_id() == Some("failing-1")
        })
    })
    .await;
    let lines = Traced::install().lines();
    let mut attempts: Vec<u64> = lines
        .iter()
        .filter(|l| {
            l.message() == Some("shipping attempt")
                && l.text("messaging.message.id") == Some(order_id.as_str())
        })
        .inspect(|l| assert_eq!(l.request_id(), Some("failing-1"), "{l:?}"))
        .filter_map(|l| l["attempt"].as_u64())
        .collect();
    attempts.sort_unstable();
    assert_eq!(attempts, [1, 2, 3], "each attempt logged once, with the id");
    factory.stop().await;
}

//! The order goes on after the answer, through a real NATS JetStream: orders' outbox, the
//! relay, the broker and shipping, under the order's request id and in the order's trace;
//! redelivery to another instance when one stops; dead letters; no cross-talk under load.
//!
//! Needs Debian's `nats-server` (`.ci/run` installs it): under `CI=true` a missing server
//! fails each test.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::SpanData;
use ordertrail_factory::broker::{self, Broker, DEAD_LETTER_STREAM, SUBJECT};
use ordertrail_factory::services::shipping::{ConsumerOptions, ShippingFaults, ShippingState};
use ordertrail_factory::services::{Factory, Redelivery, ServiceName, ServiceOptions};
use ordertrail_testkit::{
    APPROVED_CARD, Line, LineExt, NatsServer, Traced, client, client_builder, eventually,
    order_body, poll, post_order,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A short ack wait, so a message a stopped instance held comes back within the test.
const ACK_WAIT: Duration = Duration::from_secs(1);

async fn factory(nats: &NatsServer) -> Factory {
    Traced::install();
    let options = ServiceOptions {
        broker: Broker::Nats {
            url: nats.url.clone(),
        },
        redelivery: Redelivery {
            ack_wait: ACK_WAIT,
            max_attempts: 3,
        },
        ..ServiceOptions::default()
    };
    Factory::start(options).await.expect("the services start")
}

/// Places one approved order with `request_id`; returns its order id.
async fn place(client: &reqwest::Client, factory: &Factory, request_id: &str) -> String {
    let gateway = factory.url(ServiceName::Gateway);
    let body = order_body("sticker-pack", 1, APPROVED_CARD);
    let reply = post_order(client, &gateway, &body, Some(request_id)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{request_id}");
    reply.json()["order_id"]
        .as_str()
        .expect("an order id")
        .to_owned()
}

fn lines() -> Vec<Line> {
    Traced::install().lines()
}

/// The orders with an `order shipped` line.
fn shipped(lines: &[Line]) -> HashSet<&str> {
    let shipped = lines
        .iter()
        .filter(|l| l.message() == Some("order shipped"));
    shipped.filter_map(|l| l.text("order_id")).collect()
}

/// Waits until every order of `order_ids` has its `order shipped` line: polls a count of
/// the lines (cheap) every 250 ms, then parses them once to check which orders they name.
async fn wait_shipped(order_ids: &[String], within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let count = Traced::install().count(r#""message":"order shipped""#);
        if count >= order_ids.len() {
            let lines = tokio::task::spawn_blocking(lines).await.expect("parsed");
            let shipped = shipped(&lines);
            let missing = order_ids.iter().filter(|id| !shipped.contains(id.as_str()));
            if missing.count() == 0 {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every one of {} orders shipped within {within:?}",
            order_ids.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    let found = span.attributes.iter().find(|kv| kv.key.as_str() == key);
    found.map(|kv| kv.value.as_str().into_owned())
}

/// The one span of kind `kind` whose `messaging.message.id` is `order_id`, once it ended.
async fn messaging_span(order_id: &str, kind: SpanKind) -> SpanData {
    let ended = || {
        let spans = Traced::install().spans();
        let found: Vec<SpanData> = spans
            .into_iter()
            .filter(|s| s.span_kind == kind)
            .filter(|s| attribute(s, "messaging.message.id").as_deref() == Some(order_id))
            .collect();
        (!found.is_empty()).then_some(found)
    };
    let found = poll(Duration::from_secs(5), Duration::from_millis(50), ended).await;
    let mut found = found.unwrap_or_else(|| panic!("no {kind:?} span of {order_id}"));
    assert_eq!(found.len(), 1, "{kind:?} spans of {order_id}: {found:#?}");
    found.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_crosses_gateway_orders_the_relay_nats_and_shipping_in_one_id_and_trace() {
    let Some(nats) = NatsServer::start("shipping_nats journey").await else {
        return;
    };
    let factory = factory(&nats).await;
    let order_id = place(&client(), &factory, "journey-nats-1").await;
    wait_shipped(std::slice::from_ref(&order_id), Duration::from_secs(10)).await;
    // The relay logs the publish once JetStream acknowledged it: maybe after shipping shipped.
    eventually("the relay's publish line", Duration::from_secs(5), || {
        lines().iter().any(|l| {
            l.message() == Some("outbox event published")
                && l.request_id() == Some("journey-nats-1")
        })
    })
    .await;

    let lines = lines();
    let ours: Vec<&Line> = lines
        .iter()
        .filter(|l| l.request_id() == Some("journey-nats-1"))
        .collect();
    let services: BTreeSet<&str> = ours.iter().filter_map(|l| l.service()).collect();
    assert_eq!(
        services,
        BTreeSet::from(["gateway", "orders", "inventory", "payments", "shipping"])
    );
    for message in [
        "outbox event published",
        "shipping attempt",
        "order shipped",
    ] {
        assert!(
            ours.iter().any(|l| l.message() == Some(message)),
            "no {message:?} line with the id"
        );
    }
    let about_order = lines.iter().filter(|l| l.mentions_order(&order_id));
    for line in about_order {
        assert_eq!(line.request_id(), Some("journey-nats-1"), "{line:?}");
    }
    let traces: BTreeSet<&str> = ours.iter().filter_map(|l| l.text("trace_id")).collect();
    assert_eq!(traces.len(), 1, "one trace on every line: {traces:?}");

    let publish = messaging_span(&order_id, SpanKind::Producer).await;
    let process = messaging_span(&order_id, SpanKind::Consumer).await;
    let trace = publish.span_context.trace_id().to_string();
    assert_eq!(traces.first().copied(), Some(trace.as_str()));
    assert_eq!(
        process.span_context.trace_id(),
        publish.span_context.trace_id()
    );
    assert_eq!(process.parent_span_id, publish.span_context.span_id());
    for span in [&publish, &process] {
        assert_eq!(attribute(span, "messaging.system").as_deref(), Some("nats"));
        assert_eq!(
            attribute(span, "messaging.destination.name").as_deref(),
            Some(SUBJECT)
        );
    }
    factory.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_lands_in_the_dead_letter_stream_with_its_id() {
    let Some(nats) = NatsServer::start("shipping_nats poison").await else {
        return;
    };
    let factory = factory(&nats).await;
    let js = broker::connect(&nats.url).await.expect("connects");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("X-Request-ID", "poison-1");
    headers.insert("Nats-Msg-Id", "poison-message-1");
    let ack = js
        .publish_with_headers(SUBJECT, headers, "not an order".into())
        .await
        .expect("published");
    ack.await.expect("stored");

    let [dead] = &nats.read(DEAD_LETTER_STREAM, 1).await[..] else {
        panic!("one dead letter");
    };
    let headers = dead.headers.clone().expect("headers kept");
    assert_eq!(
        headers.get("X-Request-ID").map(|v| v.as_str()),
        Some("poison-1")
    );
    assert_eq!(
        headers.get("Ordertrail-Error").map(|v| v.as_str()),
        Some("not an order event")
    );
    assert_eq!(&dead.payload[..], b"not an order");
    // The line is written once JetStream acknowledged the dead letter, which may be after
    // the letter reached the reader above.
    eventually("the dead-letter line", Duration::from_secs(5), || {
        lines().iter().any(|l| {
            l.message() == Some("event dead-lettered") && l.request_id() == Some("poison-1")
        })
    })
    .await;
    factory.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_shipping_instance_loses_no_event_and_the_redelivery_keeps_the_id() {
    let Some(nats) = NatsServer::start("shipping_nats restart").await else {
        return;
    };
    let factory = factory(&nats).await;
    let slow = |latency_ms| {
        let faults = ShippingFaults {
            fail_rate: 0.0,
            latency: Duration::from_millis(latency_ms),
        };
        let mut options = ConsumerOptions::new(nats.url.clone());
        options.ack_wait = ACK_WAIT;
        ShippingState::new(faults).with_consumer(options)
    };
    let second = slow(2_000);
    let client = client();
    let mut orders = HashMap::new();
    for i in 0..20 {
        let request_id = format!("restart-{i}");
        orders.insert(place(&client, &factory, &request_id).await, request_id);
    }
    let instance = second.instance().to_owned();
    let mut taken = None;
    eventually(
        "the second instance took a message",
        Duration::from_secs(10),
        || {
            taken = lines().into_iter().find(|l| {
                l.message() == Some("shipping attempt") && l.text("instance") == Some(&instance)
            });
            taken.is_some()
        },
    )
    .await;
    drop(second);
    let taken = taken.expect("found above");
    let order_id = taken
        .text("messaging.message.id")
        .expect("the message id")
        .to_owned();
    assert_eq!(taken.request_id(), Some(orders[&order_id].as_str()));

    let restarted = slow(0);
    for i in 20..25 {
        let request_id = format!("restart-{i}");
        orders.insert(place(&client, &factory, &request_id).await, request_id);
    }
    let ids: Vec<String> = orders.keys().cloned().collect();
    wait_shipped(&ids, Duration::from_secs(15)).await;
    let lines = lines();
    let attempts = lines.iter().filter(|l| {
        l.message() == Some("shipping attempt")
            && l.text("messaging.message.id") == Some(order_id.as_str())
    });
    let again: Vec<&Line> = attempts
        .filter(|l| l.text("instance") != Some(&instance))
        .collect();
    assert!(!again.is_empty(), "the held message was delivered again");
    for line in again {
        assert_eq!(line.request_id(), Some(orders[&order_id].as_str()));
        assert!(line["attempt"].as_u64().unwrap_or(0) >= 2, "{line:?}");
    }
    for line in lines
        .iter()
        .filter(|l| l.message() == Some("order shipped"))
    {
        if let Some(request_id) = line.text("order_id").and_then(|o| orders.get(o)) {
            assert_eq!(line.request_id(), Some(request_id.as_str()));
        }
    }
    drop(restarted);
    factory.stop().await;
}

/// Orders placed together; every shipping line carries its own order's id.
const ORDERS: usize = 2_000;
const IN_FLIGHT: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_show_no_cross_talk_through_the_broker() {
    let Some(nats) = NatsServer::start("shipping_nats cross-talk").await else {
        return;
    };
    let factory = Arc::new(factory(&nats).await);
    let client = client_builder(Duration::from_secs(60))
        .build()
        .expect("a client");
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for i in 0..ORDERS {
        let (client, permits, factory) = (client.clone(), permits.clone(), factory.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("open");
            let request_id = format!("xtalk-{i}");
            (place(&client, &factory, &request_id).await, request_id)
        });
    }
    let orders: HashMap<String, String> = tasks.join_all().await.into_iter().collect();
    let ids: Vec<String> = orders.keys().cloned().collect();
    wait_shipped(&ids, Duration::from_secs(60)).await;
    let lines = lines();
    let mut checked = 0;
    for line in lines.iter().filter(|l| l.service() == Some("shipping")) {
        let order = line.text("order_id").or(line.text("messaging.message.id"));
        if let Some(request_id) = order.and_then(|o| orders.get(o)) {
            assert_eq!(line.request_id(), Some(request_id.as_str()), "{line:?}");
            checked += 1;
        }
    }
    assert!(
        checked >= 2 * ORDERS,
        "attempt and shipped lines: {checked}"
    );
    Arc::into_inner(factory).expect("tasks done").stop().await;
}

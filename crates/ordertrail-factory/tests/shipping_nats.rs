//! The order goes on after the answer, through a real NATS JetStream: orders' outbox, the
//! relay, the broker and shipping, under the order's request id and in the order's trace; and
//! a message shipping cannot read goes to the dead-letter stream with its id.
//!
//! Needs Debian's `nats-server` (`.ci/run` installs it): under `CI=true` a missing server
//! fails each test.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use http::StatusCode;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::SpanData;
use ordertrail_factory::broker::{self, Broker, DEAD_LETTER_STREAM, SUBJECT};
use ordertrail_factory::services::{Factory, Redelivery, ServiceName, ServiceOptions};
use ordertrail_testkit::{
    APPROVED_CARD, Line, LineExt, NatsServer, Traced, client, eventually, order_body, post_order,
};

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

fn shipped(lines: &[Line], order_id: &str) -> bool {
    lines.iter().any(|l| {
        matches!(
            l.message(),
            Some("order shipped" | "order already shipped: duplicate ignored")
        ) && l.text("order_id") == Some(order_id)
    })
}

/// Waits until every order of `order_ids` has its `order shipped` line. The lines are parsed
/// off the runtime, every 500 ms: parsing tens of thousands of lines must not starve the
/// services sharing its two threads.
async fn wait_shipped(order_ids: &[String], within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let lines = tokio::task::spawn_blocking(lines).await.expect("parsed");
        let missing = order_ids.iter().filter(|id| !shipped(&lines, id)).count();
        if missing == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} of {} orders not shipped within {within:?}",
            order_ids.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    let found = span.attributes.iter().find(|kv| kv.key.as_str() == key);
    found.map(|kv| kv.value.as_str().into_owned())
}

/// The one ended span of kind `kind` whose `messaging.message.id` is `order_id`.
fn messaging_span(order_id: &str, kind: SpanKind) -> SpanData {
    let spans = Traced::install().spans();
    let mut found: Vec<SpanData> = spans
        .into_iter()
        .filter(|s| s.span_kind == kind)
        .filter(|s| attribute(s, "messaging.message.id").as_deref() == Some(order_id))
        .collect();
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

    eventually("the process span ended", Duration::from_secs(5), || {
        let spans = Traced::install().spans();
        spans.iter().any(|s| s.span_kind == SpanKind::Consumer)
    })
    .await;
    let publish = messaging_span(&order_id, SpanKind::Producer);
    let process = messaging_span(&order_id, SpanKind::Consumer);
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

    let stream = js
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .expect("dead-letter stream");
    let consumer: async_nats::jetstream::consumer::PullConsumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::Config::default())
        .await
        .expect("a reader of dead letters");
    let mut messages = consumer.messages().await.expect("reads");
    let dead = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("a dead letter within 10 s")
        .expect("a message")
        .expect("no error");
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
    let lines = lines();
    let logged = lines
        .iter()
        .find(|l| l.message() == Some("event dead-lettered"));
    assert_eq!(logged.and_then(|l| l.request_id()), Some("poison-1"));
    factory.stop().await;
}

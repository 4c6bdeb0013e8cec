//! At least once, and harmless: an outbox row whose "sent" mark was lost (a crash between the
//! publish and the mark) is published again when orders starts again, and the order is still
//! shipped once — JetStream drops the re-sent message id, and shipping, keyed by order id,
//! ignores an event it already shipped even when the broker does deliver it again.
//!
//! Needs Debian's `nats-server` (`.ci/run` installs it).

use std::path::Path;
use std::time::Duration;

use http::StatusCode;
use ordertrail::propagation::Carrier;
use ordertrail_factory::broker::{self, Broker, NatsTransport, Outgoing, SUBJECT, Transport};
use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use ordertrail_testkit::{
    APPROVED_CARD, LineExt, NatsServer, Traced, client, eventually, order_body, post_order,
};

async fn factory(nats: &NatsServer, db: &Path) -> Factory {
    Traced::install();
    let options = ServiceOptions {
        db_path: Some(db.to_owned()),
        broker: Broker::Nats {
            url: nats.url.clone(),
        },
        ..ServiceOptions::default()
    };
    Factory::start(options).await.expect("the services start")
}

/// How many lines say `message` about `order_id`.
fn count(message: &str, order_id: &str) -> usize {
    let lines = Traced::install().lines();
    let about = lines.iter().filter(|l| {
        l.message() == Some(message)
            && (l.text("order_id") == Some(order_id)
                || l.text("messaging.message.id") == Some(order_id))
    });
    about.count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_sent_mark_publishes_again_and_the_order_ships_once() {
    let Some(nats) = NatsServer::start("outbox_resend lost mark").await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("ordertrail-resend-{}", uuid::Uuid::new_v4()));
    let db = dir.join("orders.sqlite3");
    let first = factory(&nats, &db).await;
    let gateway = first.url(ServiceName::Gateway);
    let body = order_body("mug-classic", 1, APPROVED_CARD);
    let reply = post_order(&client(), &gateway, &body, Some("resend-1")).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let order_id = reply.json()["order_id"].as_str().expect("an id").to_owned();
    eventually("shipped", Duration::from_secs(10), || {
        count("order shipped", &order_id) == 1
    })
    .await;
    // The first run publishes, logs it, then marks the row; shipping can finish before either.
    // Stop only once all three happened, so that the lost mark below is the only one.
    eventually("published", Duration::from_secs(10), || {
        count("outbox event published", &order_id) == 1
    })
    .await;
    let conn = rusqlite::Connection::open(&db).expect("opens");
    let sent = || {
        conn.query_row(
            "SELECT sent_at IS NOT NULL FROM outbox WHERE message_id = ?1",
            [&order_id],
            |row| row.get::<_, bool>(0),
        )
        .expect("the order's outbox row")
    };
    eventually("marked sent", Duration::from_secs(10), sent).await;
    first.stop().await;

    let unmarked = conn
        .execute(
            "UPDATE outbox SET sent_at = NULL WHERE message_id = ?1",
            [&order_id],
        )
        .expect("the mark is lost");
    assert_eq!(unmarked, 1);
    drop(conn);

    let second = factory(&nats, &db).await;
    eventually("published again", Duration::from_secs(10), || {
        count("outbox event published", &order_id) == 2
    })
    .await;
    let published = Traced::install().lines();
    let again = published.iter().filter(|l| {
        l.message() == Some("outbox event published")
            && l.text("messaging.message.id") == Some(order_id.as_str())
    });
    for line in again {
        assert_eq!(line.request_id(), Some("resend-1"), "{line:?}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count("order shipped", &order_id), 1, "shipped once");
    second.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_twice_ships_its_order_once() {
    let Some(nats) = NatsServer::start("outbox_resend duplicate").await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("ordertrail-dup-{}", uuid::Uuid::new_v4()));
    let factory = factory(&nats, &dir.join("orders.sqlite3")).await;
    let js = broker::connect(&nats.url).await.expect("connects");
    let transport = Transport::Nats(NatsTransport::new(js));
    let event = broker::Event {
        order_id: "dup-order-1".into(),
        sku: "mug-classic".into(),
        quantity: 1,
        amount_cents: 1_200,
        confirmed_at: "2026-12-02T09:00:00.000000Z".into(),
    };
    // Two message ids for one order: past JetStream's duplicate window, as the broker sees it.
    for message_id in ["dup-order-1", "dup-order-1-again"] {
        let message = Outgoing {
            subject: SUBJECT,
            message_id: message_id.into(),
            carrier: Carrier::default().with_request_id("dup-request-1".parse().ok()),
            payload: event.to_payload().into(),
            attempt: 1,
        };
        transport.deliver(&message).await.expect("stored");
    }
    eventually("both deliveries processed", Duration::from_secs(10), || {
        count("shipping attempt", "dup-order-1") + count("shipping attempt", "dup-order-1-again")
            == 2
    })
    .await;
    eventually("the duplicate ignored", Duration::from_secs(10), || {
        count("order already shipped: duplicate ignored", "dup-order-1") == 1
    })
    .await;
    assert_eq!(count("order shipped", "dup-order-1"), 1);
    let lines = Traced::install().lines();
    let shipping = lines
        .iter()
        .filter(|l| l.service() == Some("shipping") && l.text("order_id") == Some("dup-order-1"));
    for line in shipping {
        assert_eq!(line.request_id(), Some("dup-request-1"), "{line:?}");
    }
    factory.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

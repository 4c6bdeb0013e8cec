//! The outbox and the messages hold what the journey needs and no card number: after orders
//! paid with cards written every common way, the outbox table (read through SQLite) and every
//! message on the JetStream stream (payload and headers) are scanned for card numbers; each
//! confirmed order has exactly one outbox row, sent, with its request id and trace context.
//!
//! Needs Debian's `nats-server` (`.ci/run` installs it).

use std::collections::HashMap;
use std::time::Duration;

use http::StatusCode;
use ordertrail_factory::broker::{Broker, STREAM};
use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use ordertrail_testkit::cards::assert_no_cards;
use ordertrail_testkit::{
    DECLINED_CARD, LineExt, NatsServer, Traced, client, eventually, order_body, post_order,
};

const CARDS: [&str; 3] = [
    "4242 4242 4242 4242",
    "4242-4242-4242-4242",
    "4242424242424242",
];

/// One outbox row, every column as text.
type Row = HashMap<String, Option<String>>;

fn outbox_rows(db: &std::path::Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(db).expect("opens the orders database");
    let mut statement = conn
        .prepare("SELECT * FROM outbox")
        .expect("an outbox table");
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(String::from)
        .collect();
    let rows = statement.query_map([], |row| {
        let mut fields = Row::new();
        for (i, name) in names.iter().enumerate() {
            let value: rusqlite::types::Value = row.get(i)?;
            let text = match value {
                rusqlite::types::Value::Null => None,
                rusqlite::types::Value::Integer(n) => Some(n.to_string()),
                rusqlite::types::Value::Real(x) => Some(x.to_string()),
                rusqlite::types::Value::Text(t) => Some(t),
                rusqlite::types::Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            };
            fields.insert(name.clone(), text);
        }
        Ok(fields)
    });
    rows.expect("reads")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every message on the order stream: its payload and header values, as text.
async fn stream_texts(nats: &NatsServer, expected: usize) -> Vec<String> {
    let mut texts = Vec::new();
    for message in nats.read(STREAM, expected).await {
        texts.push(String::from_utf8_lossy(&message.payload).into_owned());
        for (_, values) in message.headers.iter().flat_map(|h| h.iter()) {
            texts.extend(values.iter().map(|v| v.as_str().to_owned()));
        }
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_reaches_the_outbox_or_the_stream() {
    let Some(nats) = NatsServer::start("outbox_cards").await else {
        return;
    };
    Traced::install();
    let dir = std::env::temp_dir().join(format!("ordertrail-outbox-{}", uuid::Uuid::new_v4()));
    let db = dir.join("orders.sqlite3");
    let options = ServiceOptions {
        db_path: Some(db.clone()),
        broker: Broker::Nats {
            url: nats.url.clone(),
        },
        ..ServiceOptions::default()
    };
    let factory = Factory::start(options).await.expect("the services start");
    let (client, gateway) = (client(), factory.url(ServiceName::Gateway));
    let mut confirmed = HashMap::new();
    for (i, card) in CARDS.iter().enumerate() {
        let request_id = format!("outbox-card-{i}");
        let reply = post_order(
            &client,
            &gateway,
            &order_body("mug-classic", 1, card),
            Some(&request_id),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        let order_id = reply.json()["order_id"].as_str().expect("an id").to_owned();
        confirmed.insert(order_id, request_id);
    }
    let declined = order_body("mug-classic", 1, DECLINED_CARD);
    let reply = post_order(&client, &gateway, &declined, Some("outbox-card-declined")).await;
    assert_eq!(reply.status, StatusCode::PAYMENT_REQUIRED);

    eventually(
        "every confirmed order shipped",
        Duration::from_secs(10),
        || {
            let lines = Traced::install().lines();
            confirmed.keys().all(|order_id| {
                lines.iter().any(|l| {
                    l.message() == Some("order shipped") && l.text("order_id") == Some(order_id)
                })
            })
        },
    )
    .await;

    let rows = outbox_rows(&db);
    assert_eq!(
        rows.len(),
        confirmed.len(),
        "one row per confirmed order: {rows:#?}"
    );
    for row in &rows {
        let order_id = row["message_id"].as_deref().expect("a message id");
        assert_eq!(
            row["request_id"].as_deref(),
            Some(confirmed[order_id].as_str())
        );
        assert!(row["traceparent"].is_some(), "{row:?}");
        assert!(row["sent_at"].is_some(), "sent: {row:?}");
    }
    let texts = rows.iter().flat_map(|row| row.values().flatten().cloned());
    assert_no_cards("the outbox table", texts);
    assert_no_cards(
        "the order stream",
        stream_texts(&nats, confirmed.len()).await,
    );

    factory.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

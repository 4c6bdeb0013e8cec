//! The relay: a task outside any request that delivers the outbox, oldest rows first, and
//! marks each row sent once the broker (or shipping, over HTTP) took it. The rows of one read
//! (at most [`BATCH`]) are delivered together, so publishes to NATS are pipelined instead of
//! each waiting for the previous one's ack; events of different orders need no order among
//! them.
//!
//! # Context restored
//! Each row is delivered inside the request id it was written with
//! ([`correlation::scope`]), so the relay's log lines carry the order's `request_id`, and in a
//! `publish` span (kind PRODUCER) whose parent is the span that wrote the row: the delivery
//! joins the order's trace although the request ended long ago. The message carries the
//! publish span's context, so the consumer's span is its child.
//!
//! # At least once
//! A row is marked sent only after the delivery succeeded. A crash between the two re-sends
//! the row on the next start: JetStream drops the duplicate within its window (the message id
//! is the order id), and shipping ships an order once whatever arrives twice. A failed
//! delivery is retried with a growing delay (up to [`MAX_BACKOFF`]), the row kept; a refusal
//! (an HTTP 4xx) marks it dead and is logged as an error.
//!
//! A round tries each row at most [`ATTEMPTS_PER_ROUND`] times, then leaves it pending for the
//! next round: one event that keeps failing (a broker that rejects that message, a shipping
//! that answers it 5xx) is retried round after round, and never holds back the rows after it.
//!
//! # A bounded table
//! Sent rows are kept for a while (the newest [`KEEP_SENT`]) to look at, and deleted by the
//! relay every [`PRUNE_EVERY`]; pending and dead rows are never deleted.
//!
//! # Several relays
//! Each orders process runs one (`serve orders --workers N` runs N, on one database file).
//! They may deliver the same row at the same moment; that is one more duplicate, dropped as
//! above.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{Instrument, Span};

use super::OrderStore;
use super::outbox::OutboxRow;
use crate::broker::{
    self, Broker, DeliveryError, HttpTransport, NatsTransport, Outgoing, Transport,
};
use crate::web::Chain;
use ordertrail::correlation;

/// Rows read per round.
const BATCH: usize = 64;
/// How often the outbox is read when nobody signals a new row.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// The first retry delay; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest delay between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Sent outbox rows kept; older ones are deleted.
pub const KEEP_SENT: usize = 10_000;
/// How often the relay deletes sent rows beyond [`KEEP_SENT`].
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Attempts at one row within one round (100 + 200 + 400 + 800 ms of back-off between them);
/// a row still failing waits for the next round.
pub const ATTEMPTS_PER_ROUND: u32 = 5;

/// Delivers the outbox of `store` through `broker`, woken by `wake` after each new row.
#[derive(Debug, Clone)]
pub(super) struct Relay {
    pub(super) store: OrderStore,
    pub(super) broker: Broker,
    pub(super) shipping_url: String,
    pub(super) wake: Arc<Notify>,
}

impl Relay {
    /// Runs until the task is aborted.
    pub(super) async fn run(self) {
        let Some(transport) = self.transport().await else {
            return;
        };
        let mut pruned_at = tokio::time::Instant::now();
        loop {
            if pruned_at.elapsed() >= PRUNE_EVERY {
                self.prune().await;
                pruned_at = tokio::time::Instant::now();
            }
            match self.store.outbox_pending(BATCH).await {
                Ok(rows) if !rows.is_empty() => {
                    let deliveries = rows.into_iter().map(|row| self.deliver(&transport, row));
                    futures_util::future::join_all(deliveries).await;
                    continue;
                }
                Ok(_) => {}
                Err(err) => tracing::error!(error = %Chain(&err), "outbox not readable"),
            }
            let _ = tokio::time::timeout(POLL_EVERY, self.wake.notified()).await;
        }
    }

    /// The transport `broker` names, connecting until it works; `None` for [`Broker::Off`].
    async fn transport(&self) -> Option<Transport> {
        match &self.broker {
            Broker::Off => None,
            Broker::Http => match HttpTransport::new(&self.shipping_url) {
                Ok(http) => Some(Transport::Http(http)),
                Err(err) => {
                    tracing::error!(error = %Chain(&err), "relay not started");
                    None
                }
            },
            Broker::Nats { url } => {
                let mut backoff = Backoff::default();
                loop {
                    match broker::connect(url).await {
                        Ok(js) => return Some(Transport::Nats(NatsTransport::new(js))),
                        Err(err) => {
                            let retry_in = backoff.next_delay();
                            tracing::warn!(error = %Chain(&err), retry_in_ms = millis(retry_in), "relay cannot reach NATS");
                            tokio::time::sleep(retry_in).await;
                        }
                    }
                }
            }
        }
    }

    /// Delivers `row` until it goes through or is refused, then marks it; after
    /// [`ATTEMPTS_PER_ROUND`] failures, leaves it pending for the next round.
    async fn deliver(&self, transport: &Transport, row: OutboxRow) {
        let id = row.carrier.request_id().cloned();
        let span = publish_span(&row, self.broker.system());
        let work = self.deliver_in_span(transport, row).instrument(span);
        match id {
            Some(id) => correlation::scope(id, work).await,
            None => work.await,
        }
    }

    async fn deliver_in_span(&self, transport: &Transport, row: OutboxRow) {
        let mut message = Outgoing {
            subject: broker::SUBJECT,
            message_id: row.message_id.clone(),
            carrier: ordertrail::propagation::Carrier::capture(&Span::current())
                .with_request_id(row.carrier.request_id().cloned()),
            payload: row.payload.clone().into(),
            attempt: 1,
        };
        let mut backoff = Backoff::default();
        for attempt in 1..=ATTEMPTS_PER_ROUND {
            message.attempt = attempt;
            match transport.deliver(&message).await {
                Ok(()) => {
                    tracing::info!(attempt, "outbox event published");
                    return self.mark(row.seq, false).await;
                }
                Err(err @ DeliveryError::Refused(_)) => {
                    tracing::error!(attempt, error = %err, "outbox event refused; not retried");
                    return self.mark(row.seq, true).await;
                }
                Err(err) if attempt == ATTEMPTS_PER_ROUND => {
                    tracing::warn!(attempt, error = %err, "outbox delivery failed; left for the next round");
                }
                Err(err) => {
                    let retry_in = backoff.next_delay();
                    tracing::warn!(attempt, error = %err, retry_in_ms = millis(retry_in), "outbox delivery failed; retrying");
                    tokio::time::sleep(retry_in).await;
                }
            }
        }
    }

    async fn prune(&self) {
        match self.store.outbox_prune(KEEP_SENT).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "sent outbox rows pruned"),
            Err(err) => tracing::warn!(error = %Chain(&err), "sent outbox rows not pruned"),
        }
    }

    async fn mark(&self, seq: i64, dead: bool) {
        if let Err(err) = self.store.outbox_mark(seq, dead).await {
            tracing::error!(error = %Chain(&err), "outbox row not marked; it will be sent again");
        }
    }
}

/// The PRODUCER span of one delivery, child of the span that wrote the row.
fn publish_span(row: &OutboxRow, system: &'static str) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "publish",
        otel.name = format!("publish {}", row.subject),
        otel.kind = "producer",
        service = "orders",
        messaging.system = system,
        messaging.operation.type = "send",
        messaging.destination.name = row.subject.as_str(),
        messaging.message.id = row.message_id.as_str(),
        order_id = row.message_id.as_str(),
    );
    if !row.carrier.set_parent_of(&span) {
        tracing::debug!("publish span not joined to its order's trace");
    }
    span
}

/// Doubling delays from [`FIRST_BACKOFF`] to [`MAX_BACKOFF`].
#[derive(Debug, Default)]
struct Backoff(u32);

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let delay = FIRST_BACKOFF.saturating_mul(1 << self.0.min(10));
        self.0 = self.0.saturating_add(1);
        delay.min(MAX_BACKOFF)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;

    use super::*;
    use crate::broker::Event;
    use crate::services::orders::outbox::OutboxRow;

    /// A shipping endpoint that answers 503 to the order `poison` for ever and takes the
    /// others; the order ids it took.
    async fn shipping_refusing_poison() -> (String, Arc<Mutex<Vec<String>>>) {
        let shipped = Arc::new(Mutex::new(Vec::new()));
        let taken = Arc::clone(&shipped);
        let app = Router::new().route(
            "/shipments",
            post(move |body: String| async move {
                let event: Event = serde_json::from_str(&body).expect("an event");
                if event.order_id == "poison" {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                taken.lock().expect("lock").push(event.order_id);
                StatusCode::CREATED
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, shipped)
    }

    async fn confirm(store: &OrderStore, order_id: &str) {
        let event = Event {
            order_id: order_id.to_owned(),
            sku: "mug-classic".to_owned(),
            quantity: 1,
            amount_cents: 1_200,
            confirmed_at: "2026-12-02T10:00:00.000000Z".to_owned(),
        };
        let row = OutboxRow::new(broker::SUBJECT, &event, &Span::none());
        store
            .confirm(order_id.to_owned(), 1_200, row)
            .await
            .expect("confirm");
    }

    /// A dispatch still running when the orders service's state is dropped (the service
    /// stopped) holds no part of the relay: rows confirmed after that are not delivered.
    #[tokio::test]
    async fn a_running_dispatch_does_not_keep_the_relay_alive() {
        let (shipping_url, shipped) = shipping_refusing_poison().await;
        let store = OrderStore::in_memory().expect("store");
        let downstream = |name| {
            let client = crate::services::downstream::tests::client();
            crate::services::downstream::Downstream::new(name, "http://127.0.0.1:9", client)
                .expect("a base URL")
        };
        let state = crate::services::orders::OrdersState::new(
            store.clone(),
            downstream("inventory"),
            downstream("payments"),
        )
        .with_relay(Broker::Http, &shipping_url);
        confirm(&store, "before").await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while shipped.lock().expect("lock").is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the relay runs");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        let dispatch = state.dispatch("before".to_owned());
        drop(state);
        confirm(&store, "after").await;
        // Four of the relay's polls.
        tokio::time::sleep(POLL_EVERY * 4).await;
        assert_eq!(*shipped.lock().expect("lock"), ["before"]);
        drop(dispatch);
    }

    #[tokio::test]
    async fn an_event_that_keeps_failing_does_not_hold_back_later_ones() {
        let (shipping_url, shipped) = shipping_refusing_poison().await;
        let store = OrderStore::in_memory().expect("store");
        let relay = Relay {
            store: store.clone(),
            broker: Broker::Http,
            shipping_url,
            wake: Arc::new(Notify::new()),
        };
        let wake = Arc::clone(&relay.wake);
        confirm(&store, "poison").await;
        let task = tokio::spawn(relay.run());
        // The first round is busy with the poison row when the next order is confirmed.
        tokio::time::sleep(Duration::from_millis(200)).await;
        confirm(&store, "later").await;
        wake.notify_one();

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !shipped.lock().expect("lock").contains(&"later".to_owned()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the order confirmed after the failing one was never delivered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let pending = store.outbox_pending(BATCH).await.expect("pending");
        assert_eq!(
            pending
                .iter()
                .map(|r| r.message_id.as_str())
                .collect::<Vec<_>>(),
            ["poison"],
            "the failing row stays pending, the delivered one is marked"
        );
        task.abort();
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| millis(backoff.next_delay())).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    }
}

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
        loop {
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
                    tracing::error!(error = %Chain(&err), "relay not started: no HTTP client");
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

    /// Delivers `row` until it goes through or is refused, then marks it.
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
        for attempt in 1_u32.. {
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
                Err(err) => {
                    let retry_in = backoff.next_delay();
                    tracing::warn!(attempt, error = %err, retry_in_ms = millis(retry_in), "outbox delivery failed; retrying");
                    tokio::time::sleep(retry_in).await;
                }
            }
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
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| millis(backoff.next_delay())).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    }
}

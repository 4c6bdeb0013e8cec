//! Processing one delivered event: the CONSUMER span, the attempt logged, the shipment
//! recorded once, the injected faults.
//!
//! # Parent, not link
//! Each message is produced inside one order's trace, and shipping handles it alone, so its
//! `process` span takes the producer's context as its **parent**: the order's journey stays
//! one trace from the gateway to the shipment, which is what `follow` and a trace view show.
//! A consumer handling a batch of messages from many traces in one span would instead start a
//! span of its own with one **link** per message
//! ([`Carrier::link_from`](ordertrail::propagation::Carrier::link_from)): a span has one
//! parent but any number of links.

use std::time::Duration;

use tracing::{Instrument, Span};

use super::shipments::{Shipment, Shipments};
use crate::broker::Event;
use ordertrail::correlation;
use ordertrail::propagation::Carrier;

/// Faults injected into shipping, for demonstrations.
#[derive(Debug, Clone, Default)]
pub struct ShippingFaults {
    /// Share of attempts, 0.0 to 1.0, that fail (and are redelivered).
    pub fail_rate: f64,
    /// Added to every attempt.
    pub latency: Duration,
}

/// The longest order id shipping accepts (orders' own ids are 36-character UUIDs).
pub const MAX_ORDER_ID_LEN: usize = 128;

/// Why an attempt did not ship its order.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShipError {
    /// The payload is not an order event: retrying cannot help.
    #[error("not an order event")]
    Undecodable(#[source] serde_json::Error),
    /// The event's order id is longer than [`MAX_ORDER_ID_LEN`]: remembering it would let one
    /// message take as much memory as its payload.
    #[error("order id of {0} bytes, over {MAX_ORDER_ID_LEN}")]
    OrderIdTooLong(usize),
    /// An injected failure (`--shipping-fail-rate`).
    #[error("injected shipping failure")]
    Injected,
}

impl ShipError {
    /// Whether a redelivery may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Injected)
    }
}

/// What processing uses of the shipping state.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parts<'a> {
    pub(super) shipments: &'a Shipments,
    pub(super) faults: &'a ShippingFaults,
    pub(super) instance: &'a str,
}

/// One delivery of one message.
#[derive(Debug, Clone, Copy)]
pub struct Delivered<'a> {
    /// The JSON event.
    pub payload: &'a [u8],
    /// Its request id and trace context.
    pub carrier: &'a Carrier,
    /// The message id, when one was sent.
    pub message_id: Option<&'a str>,
    /// 1 for the first delivery, then 2, 3…
    pub attempt: u32,
    /// `messaging.system` of the span: `nats` or `http`.
    pub system: &'static str,
}

/// Processes `delivered` in a `process` span. Over NATS (`detached`), the span is a root
/// whose parent is the carried context, run in the carried request id; over HTTP it is a
/// child of the current request span, which already continued the same context.
pub(super) async fn process(
    parts: Parts<'_>,
    delivered: Delivered<'_>,
    detached: bool,
) -> Result<Shipment, ShipError> {
    let span = process_span(&delivered, detached);
    let work = ship(parts, delivered).instrument(span);
    match delivered.carrier.request_id().cloned().filter(|_| detached) {
        Some(id) => correlation::scope(id, work).await,
        None => work.await,
    }
}

fn process_span(delivered: &Delivered<'_>, detached: bool) -> Span {
    let fields = |parent: Option<tracing::Id>| {
        tracing::info_span!(
            parent: parent,
            "process",
            otel.name = format!("process {}", crate::broker::SUBJECT),
            otel.kind = "consumer",
            service = "shipping",
            messaging.system = delivered.system,
            messaging.operation.type = "process",
            messaging.destination.name = crate::broker::SUBJECT,
            messaging.consumer.group.name = "shipping",
            messaging.message.id = delivered.message_id,
            attempt = delivered.attempt,
            order_id = tracing::field::Empty,
        )
    };
    if !detached {
        return fields(Span::current().id());
    }
    let span = fields(None);
    if !delivered.carrier.set_parent_of(&span) {
        tracing::debug!("process span not joined to its order's trace");
    }
    span
}

async fn ship(parts: Parts<'_>, delivered: Delivered<'_>) -> Result<Shipment, ShipError> {
    let Parts {
        shipments,
        faults,
        instance,
    } = parts;
    let attempt = delivered.attempt;
    tracing::info!(
        attempt,
        message_id = delivered.message_id,
        instance,
        "shipping attempt"
    );
    let event: Event = serde_json::from_slice(delivered.payload).map_err(|err| {
        tracing::error!(attempt, error = %err, "shipping attempt failed: not an order event");
        ShipError::Undecodable(err)
    })?;
    if event.order_id.len() > MAX_ORDER_ID_LEN {
        let err = ShipError::OrderIdTooLong(event.order_id.len());
        tracing::error!(attempt, error = %err, "shipping attempt failed: order id too long");
        return Err(err);
    }
    Span::current().record("order_id", event.order_id.as_str());
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if fastrand::f64() < faults.fail_rate {
        tracing::warn!(attempt, order_id = %event.order_id, "shipping attempt failed: injected failure");
        return Err(ShipError::Injected);
    }
    let order_to_shipped_ms = event.age_ms();
    let (shipment, new) = shipments.record(Shipment {
        order_id: event.order_id.clone(),
        shipment_id: uuid::Uuid::now_v7().to_string(),
        request_id: correlation::current().map(|id| id.to_string()),
        attempt,
        order_to_shipped_ms,
    });
    if new {
        tracing::info!(
            attempt,
            order_id = %event.order_id,
            shipment_id = %shipment.shipment_id,
            order_to_shipped_ms,
            "order shipped"
        );
    } else {
        tracing::info!(attempt, order_id = %event.order_id, shipment_id = %shipment.shipment_id, "order already shipped: duplicate ignored");
    }
    Ok(shipment)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ship_payload(payload: &[u8], shipments: &Shipments) -> Result<Shipment, ShipError> {
        let parts = Parts {
            shipments,
            faults: &ShippingFaults::default(),
            instance: "test",
        };
        let delivered = Delivered {
            payload,
            carrier: &Carrier::default(),
            message_id: None,
            attempt: 1,
            system: "http",
        };
        ship(parts, delivered).await
    }

    fn event(order_id: &str) -> Vec<u8> {
        Event {
            order_id: order_id.to_owned(),
            sku: "mug-classic".to_owned(),
            quantity: 1,
            amount_cents: 1_200,
            confirmed_at: "2026-12-02T10:00:00.000000Z".to_owned(),
        }
        .to_payload()
    }

    #[tokio::test]
    async fn an_order_id_longer_than_the_cap_is_refused_and_not_remembered() {
        let shipments = Shipments::default();
        let long = "x".repeat(MAX_ORDER_ID_LEN + 1);
        let refused = ship_payload(&event(&long), &shipments).await;
        assert!(matches!(refused, Err(ShipError::OrderIdTooLong(n)) if n == MAX_ORDER_ID_LEN + 1));
        assert!(!refused.expect_err("refused").is_retryable());
        assert_eq!(shipments.get(&long), None);

        let at_cap = "y".repeat(MAX_ORDER_ID_LEN);
        assert!(ship_payload(&event(&at_cap), &shipments).await.is_ok());
        assert!(shipments.get(&at_cap).is_some());
    }
}

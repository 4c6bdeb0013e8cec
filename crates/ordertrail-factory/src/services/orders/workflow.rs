//! The order workflow: reserve, charge, compensate, confirm, dispatch.

use std::sync::Arc;

use http::StatusCode;
use tokio::sync::Notify;
use tracing::Instrument;

use super::outbox::OutboxRow;
use super::relay::Relay;
use super::{OrderStore, StoreError};
use crate::broker::{self, Broker, Event};
use crate::services::api::{Charge, Order, OrderStatus, PlaceOrder, Receipt, Reservation, Reserve};
use crate::services::background::Background;
use crate::services::{CallError, Downstream};
use crate::web::Chain;
use ordertrail::card;
use ordertrail::correlation;

/// Why an order was not placed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceError {
    /// The card number is not a valid card number.
    #[error("card_number is not a valid card number")]
    InvalidCard,
    /// Inventory does not know the item; `message` is its own.
    #[error("{message}")]
    UnknownItem {
        /// What inventory said.
        message: String,
    },
    /// Inventory has less of the item than ordered; `message` is its own.
    #[error("{message}")]
    OutOfStock {
        /// What inventory said.
        message: String,
    },
    /// Payments declined the card.
    #[error("payment declined")]
    Declined,
    /// The order could not be stored or updated.
    #[error("orders store failed")]
    Store(#[from] StoreError),
    /// Inventory or payments refused otherwise, failed, or timed out.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// What the orders service needs: its store, the two services it calls, and the relay of its
/// outbox.
#[derive(Debug, Clone)]
pub struct OrdersState {
    store: OrderStore,
    inventory: Downstream,
    payments: Downstream,
    wake_relay: Arc<Notify>,
    relay: Option<Background>,
}

impl OrdersState {
    /// Orders stored in `store`, calling `inventory` and `payments`.
    pub fn new(store: OrderStore, inventory: Downstream, payments: Downstream) -> Self {
        Self {
            store,
            inventory,
            payments,
            wake_relay: Arc::new(Notify::new()),
            relay: None,
        }
    }

    /// Starts the relay of the outbox (see the relay's docs) through `broker`; over HTTP, to
    /// shipping at `shipping_url`. It runs on the current runtime until the last clone of this
    /// state is dropped. Without it ([`Broker::Off`]), rows stay in the outbox.
    #[must_use]
    pub fn with_relay(mut self, broker: Broker, shipping_url: &str) -> Self {
        if broker != Broker::Off {
            let relay = Relay {
                store: self.store.clone(),
                broker,
                shipping_url: shipping_url.to_owned(),
                wake: Arc::clone(&self.wake_relay),
            };
            self.relay = Some(Background::spawn(relay.run()));
        }
        self
    }

    /// The order table.
    pub fn store(&self) -> &OrderStore {
        &self.store
    }

    /// Runs steps 1 and 2 and confirms the order; see the [module docs](super).
    pub(super) async fn place(&self, body: PlaceOrder) -> Result<Order, PlaceError> {
        let card = card::normalize(&body.card_number).ok_or(PlaceError::InvalidCard)?;
        let mut order = new_order(&body, &card);
        tracing::Span::current().record("order_id", order.order_id.as_str());
        self.store.insert(order.clone()).await?;
        tracing::info!(sku = %order.sku, quantity = order.quantity, "order received");
        let reservation = match self.reserve(&order).await {
            Ok(reservation) => reservation,
            Err(err) => return Err(self.fail(&order, rejected_or_failed(&err), err).await),
        };
        order.amount_cents = reservation.amount_cents;
        if let Err(err) = self.charge(&order, card).await {
            self.release(&order).await;
            return Err(self.fail(&order, declined_or_failed(&err), err).await);
        }
        let outbox = OutboxRow::new(broker::SUBJECT, &event(&order), &tracing::Span::current());
        self.store
            .confirm(order.order_id.clone(), order.amount_cents, outbox)
            .await?;
        self.wake_relay.notify_one();
        order.status = OrderStatus::Confirmed;
        tracing::info!(amount_cents = order.amount_cents, "order confirmed");
        Ok(order)
    }

    /// Step 3, after the response: commits the reservation and marks the order dispatched.
    ///
    /// The task holds the store and the inventory client only, not this state: a dispatch
    /// still running when the service stops does not keep the relay running after it.
    pub(super) fn dispatch(&self, order_id: String) -> impl Future<Output = ()> + Send + 'static {
        let (store, inventory) = (self.store.clone(), self.inventory.clone());
        async move {
            let path = format!("/reservations/{order_id}/commit");
            if let Err(err) = inventory.post::<_, Reservation>(&path, &()).await {
                tracing::error!(error = %Chain(&err), "dispatch failed: reservation not committed");
                return;
            }
            match store
                .set_status(order_id, OrderStatus::Dispatched, None)
                .await
            {
                Ok(()) => tracing::info!("order dispatched"),
                Err(err) => {
                    tracing::error!(error = %Chain(&err), "dispatch failed: status not stored");
                }
            }
        }
    }

    /// Step 1. Inventory answers 404 for an unknown item and 409 for too little stock.
    async fn reserve(&self, order: &Order) -> Result<Reservation, PlaceError> {
        tracing::debug!(sku = %order.sku, quantity = order.quantity, "reserving stock");
        let body = Reserve {
            sku: order.sku.clone(),
            quantity: order.quantity,
        };
        self.inventory
            .post(&format!("/reservations/{}", order.order_id), &body)
            .instrument(tracing::info_span!("reserve"))
            .await
            .map_err(inventory_refusal)
    }

    /// Step 2. Payments answers 402 for a declined card.
    async fn charge(&self, order: &Order, card_number: String) -> Result<Receipt, PlaceError> {
        tracing::debug!(
            amount_cents = order.amount_cents,
            card_last4 = %order.card_last4,
            "charging the card"
        );
        let body = Charge {
            amount_cents: order.amount_cents,
            card_number,
        };
        self.payments
            .post(&format!("/charges/{}", order.order_id), &body)
            .instrument(tracing::info_span!(
                "charge",
                amount_cents = order.amount_cents
            ))
            .await
            .map_err(payments_refusal)
    }

    /// Compensation: gives the reserved stock back. A failure here is logged, not raised:
    /// the order already failed for another reason, which is what the client must see.
    async fn release(&self, order: &Order) {
        let path = format!("/reservations/{}/release", order.order_id);
        let released = self
            .inventory
            .post::<_, Reservation>(&path, &())
            .instrument(tracing::info_span!("release"))
            .await;
        match released {
            Ok(_) => tracing::info!("reservation released (compensation)"),
            Err(err) => {
                tracing::error!(error = %Chain(&err), "compensation failed: reservation still held")
            }
        }
    }

    /// Records the final status of a failed order and hands back the error to answer with.
    async fn fail(&self, order: &Order, status: OrderStatus, err: PlaceError) -> PlaceError {
        tracing::info!(status = status.as_str(), "order not completed");
        match self
            .store
            .set_status(order.order_id.clone(), status, None)
            .await
        {
            Ok(()) => err,
            Err(store_err) => store_err.into(),
        }
    }
}

fn new_order(body: &PlaceOrder, card: &str) -> Order {
    Order {
        order_id: uuid::Uuid::now_v7().to_string(),
        status: OrderStatus::Pending,
        sku: body.sku.clone(),
        quantity: body.quantity,
        amount_cents: 0,
        card_last4: card::last4(card).to_owned(),
        request_id: correlation::current()
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

/// The event announcing `order` (no card data: see [`Event`]); its one text from the client,
/// the sku, through the redaction policy like the order row's.
fn event(order: &Order) -> Event {
    Event {
        order_id: order.order_id.clone(),
        sku: ordertrail::redact::redact(&order.sku).into_owned(),
        quantity: order.quantity,
        amount_cents: order.amount_cents,
        confirmed_at: broker::now_rfc3339(),
    }
}

/// Inventory's refusals that are the order's fault, as [`PlaceError`]s.
fn inventory_refusal(err: CallError) -> PlaceError {
    match err {
        CallError::Rejected {
            status: StatusCode::NOT_FOUND,
            message,
            ..
        } => PlaceError::UnknownItem { message },
        CallError::Rejected {
            status: StatusCode::CONFLICT,
            message,
            ..
        } => PlaceError::OutOfStock { message },
        other => other.into(),
    }
}

/// A declined card, as [`PlaceError::Declined`].
fn payments_refusal(err: CallError) -> PlaceError {
    match err {
        CallError::Rejected {
            status: StatusCode::PAYMENT_REQUIRED,
            ..
        } => PlaceError::Declined,
        other => other.into(),
    }
}

/// Inventory refusing the order (any 4xx) leaves it `rejected`; anything else is our failure.
fn rejected_or_failed(err: &PlaceError) -> OrderStatus {
    match err {
        PlaceError::UnknownItem { .. }
        | PlaceError::OutOfStock { .. }
        | PlaceError::Call(CallError::Rejected { .. }) => OrderStatus::Rejected,
        _ => OrderStatus::Failed,
    }
}

/// A declined card leaves the order `declined`; anything else is a failure.
fn declined_or_failed(err: &PlaceError) -> OrderStatus {
    match err {
        PlaceError::Declined => OrderStatus::Declined,
        _ => OrderStatus::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: StatusCode) -> CallError {
        CallError::Rejected {
            service: "callee",
            status,
            message: "said no".into(),
        }
    }

    fn timed_out() -> CallError {
        CallError::TimedOut { service: "callee" }
    }

    #[test]
    fn inventory_refusals_reject_the_order() {
        let unknown = inventory_refusal(rejected(StatusCode::NOT_FOUND));
        assert!(matches!(&unknown, PlaceError::UnknownItem { message } if message == "said no"));
        let short = inventory_refusal(rejected(StatusCode::CONFLICT));
        assert!(matches!(&short, PlaceError::OutOfStock { message } if message == "said no"));
        let other = inventory_refusal(rejected(StatusCode::BAD_REQUEST));
        assert!(matches!(
            other,
            PlaceError::Call(CallError::Rejected { .. })
        ));
        for err in [unknown, short, other] {
            assert_eq!(rejected_or_failed(&err), OrderStatus::Rejected);
        }
    }

    #[test]
    fn an_inventory_failure_fails_the_order() {
        let err = inventory_refusal(timed_out());
        assert!(matches!(err, PlaceError::Call(CallError::TimedOut { .. })));
        assert_eq!(rejected_or_failed(&err), OrderStatus::Failed);
    }

    #[test]
    fn a_402_from_payments_is_a_declined_order() {
        let err = payments_refusal(rejected(StatusCode::PAYMENT_REQUIRED));
        assert!(matches!(err, PlaceError::Declined));
        assert_eq!(declined_or_failed(&err), OrderStatus::Declined);
    }

    #[test]
    fn any_other_payments_error_fails_the_order() {
        for call in [rejected(StatusCode::BAD_REQUEST), timed_out()] {
            let err = payments_refusal(call);
            assert!(matches!(err, PlaceError::Call(_)), "{err:?}");
            assert_eq!(declined_or_failed(&err), OrderStatus::Failed);
        }
    }
}

//! The order workflow: reserve, charge, compensate, confirm, dispatch.

use http::StatusCode;
use tracing::Instrument;

use super::OrderStore;
use ordertrail::card;
use ordertrail::correlation;
use crate::services::Downstream;
use crate::services::api::{Charge, Order, OrderStatus, PlaceOrder, Receipt, Reservation, Reserve};
use crate::web::AppError;

/// What the orders service needs: its store and the two services it calls.
#[derive(Debug, Clone)]
pub struct OrdersState {
    store: OrderStore,
    inventory: Downstream,
    payments: Downstream,
}

impl OrdersState {
    /// Orders stored in `store`, calling `inventory` and `payments`.
    pub fn new(store: OrderStore, inventory: Downstream, payments: Downstream) -> Self {
        Self {
            store,
            inventory,
            payments,
        }
    }

    /// The order table.
    pub fn store(&self) -> &OrderStore {
        &self.store
    }

    /// Runs steps 1 and 2 and confirms the order; see the [module docs](super).
    pub(super) async fn place(&self, body: PlaceOrder) -> Result<Order, AppError> {
        let card = card::normalize(&body.card_number).ok_or(AppError::BadRequest(
            "card_number is not a valid card number".into(),
        ))?;
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
        self.store
            .set_status(
                order.order_id.clone(),
                OrderStatus::Confirmed,
                Some(order.amount_cents),
            )
            .await?;
        order.status = OrderStatus::Confirmed;
        tracing::info!(amount_cents = order.amount_cents, "order confirmed");
        Ok(order)
    }

    /// Step 3, after the response: commits the reservation and marks the order dispatched.
    pub(super) async fn dispatch(self, order_id: String) {
        let path = format!("/reservations/{order_id}/commit");
        if let Err(err) = self.inventory.post::<_, Reservation>(&path, &()).await {
            tracing::error!(error = %err, "dispatch failed: reservation not committed");
            return;
        }
        match self
            .store
            .set_status(order_id, OrderStatus::Dispatched, None)
            .await
        {
            Ok(()) => tracing::info!("order dispatched"),
            Err(err) => tracing::error!(error = %err, "dispatch failed: status not stored"),
        }
    }

    async fn reserve(&self, order: &Order) -> Result<Reservation, AppError> {
        let body = Reserve {
            sku: order.sku.clone(),
            quantity: order.quantity,
        };
        self.inventory
            .post(&format!("/reservations/{}", order.order_id), &body)
            .instrument(tracing::info_span!("reserve"))
            .await
    }

    async fn charge(&self, order: &Order, card_number: String) -> Result<Receipt, AppError> {
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
                tracing::error!(error = %err, "compensation failed: reservation still held")
            }
        }
    }

    /// Records the final status of a failed order and hands back the error to answer with.
    async fn fail(&self, order: &Order, status: OrderStatus, err: AppError) -> AppError {
        tracing::info!(status = status.as_str(), "order not completed");
        match self
            .store
            .set_status(order.order_id.clone(), status, None)
            .await
        {
            Ok(()) => err,
            Err(store_err) => store_err,
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

/// A 4xx from inventory means the order cannot be served; anything else is our failure.
fn rejected_or_failed(err: &AppError) -> OrderStatus {
    match err {
        AppError::Downstream { .. } => OrderStatus::Rejected,
        _ => OrderStatus::Failed,
    }
}

fn declined_or_failed(err: &AppError) -> OrderStatus {
    match err {
        AppError::Downstream { status, .. } if *status == StatusCode::PAYMENT_REQUIRED => {
            OrderStatus::Declined
        }
        _ => OrderStatus::Failed,
    }
}

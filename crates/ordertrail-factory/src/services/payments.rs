//! payments: charges cards. Test cards as payment APIs document them: `4242 4242 4242 4242`
//! is approved, `4000 0000 0000 0002` is always declined. Faults can be injected: a share of
//! charges failing with 503 (`fail_rate`) and added latency (`latency`).
//!
//! A card number is never logged: only its last four digits.

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

use super::api::{Charge, Receipt};
use crate::web::{AppError, AppJson, AppPath};
use ordertrail::card;
use ordertrail::correlation::CorrelationLayer;
use ordertrail::web::instrument;

/// The card that is always declined.
pub const DECLINED_CARD: &str = "4000000000000002";

/// Fault injection settings.
#[derive(Debug, Clone, Default)]
pub struct PaymentsState {
    /// Share of charges, 0.0 to 1.0, answered with 503.
    pub fail_rate: f64,
    /// Added to every charge.
    pub latency: Duration,
}

/// `POST /charges/{order_id}`, `GET /healthz`.
pub fn router(state: PaymentsState) -> Router {
    let routes = Router::new()
        .route("/charges/{order_id}", post(charge))
        .with_state(state);
    instrument(routes, CorrelationLayer::new().service("payments"))
}

#[tracing::instrument(name = "charge", skip_all, fields(order_id = %order_id, amount_cents = body.amount_cents))]
async fn charge(
    State(state): State<PaymentsState>,
    AppPath(order_id): AppPath<String>,
    AppJson(body): AppJson<Charge>,
) -> Result<Json<Receipt>, AppError> {
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    let digits = card::normalize(&body.card_number).ok_or(AppError::BadRequest(
        "card_number is not a valid card number".into(),
    ))?;
    let last4 = card::last4(&digits).to_owned();
    tracing::debug!(
        card_last4 = %last4,
        amount_cents = body.amount_cents,
        fail_rate = state.fail_rate,
        "charging"
    );
    if fastrand::f64() < state.fail_rate {
        tracing::warn!(card_last4 = %last4, "injected payment processor failure");
        return Err(AppError::Unavailable(
            "payment processor unavailable".into(),
        ));
    }
    if digits == DECLINED_CARD {
        tracing::info!(card_last4 = %last4, "charge declined");
        return Err(AppError::PaymentDeclined);
    }
    tracing::info!(card_last4 = %last4, "charge approved");
    Ok(Json(Receipt {
        charge_id: uuid::Uuid::now_v7().to_string(),
        order_id,
        amount_cents: body.amount_cents,
        card_last4: last4,
    }))
}

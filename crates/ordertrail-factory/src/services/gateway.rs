//! gateway: the public face. Validates an order before anything is stored — known shape,
//! quantity 1 to 100, a Luhn-valid card — then forwards to orders; also serves the catalog and
//! order look-ups by forwarding to inventory and orders.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tracing::Instrument;

use super::api::{CatalogItem, Order, PlaceOrder};
use crate::services::Downstream;
use crate::web::{AppError, AppJson, AppPath};
use ordertrail::card;
use ordertrail::correlation::CorrelationLayer;
use ordertrail::propagation::InboundTrace;
use ordertrail::web::instrument;

/// Most units of one item in one order.
pub const MAX_QUANTITY: u32 = 100;

/// The services the gateway forwards to.
#[derive(Debug, Clone)]
pub struct GatewayState {
    /// The orders service.
    pub orders: Downstream,
    /// The inventory service.
    pub inventory: Downstream,
    /// What to do with a caller's trace context (default `Link`: see [`ordertrail::propagation`]).
    pub inbound_trace: InboundTrace,
}

/// `POST /orders`, `GET /orders/{id}`, `GET /catalog`, `GET /healthz`.
pub fn router(state: GatewayState) -> Router {
    let correlation = CorrelationLayer::new()
        .service("gateway")
        .inbound_trace(state.inbound_trace);
    let routes = Router::new()
        .route("/orders", post(place))
        .route("/orders/{order_id}", get(show))
        .route("/catalog", get(catalog))
        .with_state(state);
    instrument(routes, correlation)
}

async fn place(
    State(state): State<GatewayState>,
    AppJson(body): AppJson<PlaceOrder>,
) -> Result<(StatusCode, Json<Order>), AppError> {
    let body = validate(body)?;
    tracing::debug!(sku = %body.sku, quantity = body.quantity, "order valid, forwarding to orders");
    let span = tracing::info_span!("place_order", order_id = tracing::field::Empty);
    let order: Order = state
        .orders
        .post("/orders", &body)
        .instrument(span.clone())
        .await?;
    span.record("order_id", order.order_id.as_str());
    span.in_scope(|| tracing::info!(status = order.status.as_str(), "order placed"));
    Ok((StatusCode::CREATED, Json(order)))
}

/// Checks an order and normalizes its card number to digits.
fn validate(mut body: PlaceOrder) -> Result<PlaceOrder, AppError> {
    if body.sku.trim().is_empty() {
        return Err(AppError::BadRequest("sku must not be empty".into()));
    }
    if !(1..=MAX_QUANTITY).contains(&body.quantity) {
        let message = format!("quantity must be between 1 and {MAX_QUANTITY}");
        return Err(AppError::BadRequest(message.into()));
    }
    body.card_number = card::normalize(&body.card_number).ok_or(AppError::BadRequest(
        "card_number is not a valid card number".into(),
    ))?;
    Ok(body)
}

async fn show(
    State(state): State<GatewayState>,
    AppPath(order_id): AppPath<String>,
) -> Result<Json<Order>, AppError> {
    let path = format!("/orders/{}", urlencode(&order_id));
    Ok(Json(state.orders.get(&path).await?))
}

async fn catalog(State(state): State<GatewayState>) -> Result<Json<Vec<CatalogItem>>, AppError> {
    Ok(Json(state.inventory.get("/catalog").await?))
}

/// Percent-encodes a path segment taken from the client before it goes downstream.
fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

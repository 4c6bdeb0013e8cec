//! orders: the workflow. Each order is stored in SQLite, then
//! 1. inventory reserves the stock (404 unknown item, 409 not enough: order `rejected`),
//! 2. payments charges the card (402 declined: the reservation is released — compensation —
//!    and the order is `declined`; a payments failure releases it too, order `failed`),
//! 3. the order is `confirmed` and answered with 201, and a background task started with
//!    [`correlation::spawn`] commits the reservation after the response has gone, then marks the
//!    order `dispatched`. That task outlives the request and still logs with its request id.
//!
//!
//! Confirming an order also writes an [`Event`](crate::broker::Event) into the outbox, in the
//! same SQLite transaction; the relay, a task outside any request, delivers it to shipping
//! (over NATS or HTTP) under the order's request id and trace.
//!
//! # Layout
//! - `store`: [`OrderStore`], the SQLite table of orders, and its [`StoreError`].
//! - `outbox`: the outbox table and its [`OutboxRow`].
//! - `relay`: the task delivering the outbox, at least once.
//! - `stamp`: the time a row is written.
//! - `workflow`: the steps above, as functions of [`OrdersState`], and their [`PlaceError`].

mod outbox;
mod relay;
mod stamp;
mod store;
mod workflow;

pub use outbox::OutboxRow;
pub use relay::{ATTEMPTS_PER_ROUND, KEEP_SENT, MAX_BACKOFF};
pub use store::{OrderStore, StoreError};
pub use workflow::{OrdersState, PlaceError};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tracing::{Instrument, Span};

use super::api::{Order, PlaceOrder};
use crate::web::{AppError, AppJson, AppPath};
use ordertrail::correlation::{self, CorrelationLayer};
use ordertrail::propagation;
use ordertrail::web::instrument;

/// `POST /orders`, `GET /orders/{id}`, `GET /healthz`.
pub fn router(state: OrdersState) -> Router {
    let routes = Router::new()
        .route("/orders", post(place))
        .route("/orders/{order_id}", get(show))
        .with_state(state);
    instrument(routes, CorrelationLayer::new().service("orders"))
}

async fn place(
    State(state): State<OrdersState>,
    AppJson(body): AppJson<PlaceOrder>,
) -> Result<(StatusCode, Json<Order>), AppError> {
    let span = tracing::info_span!("place_order", order_id = tracing::field::Empty);
    let order = state.place(body).instrument(span.clone()).await?;
    let dispatch = dispatch_span(&span, &order.order_id);
    dispatch.in_scope(|| correlation::spawn(state.dispatch(order.order_id.clone())));
    Ok((StatusCode::CREATED, Json(order)))
}

/// The span of the background dispatch. Its trace parent is `place_order`, but it holds no
/// reference to the request's spans: the server span ends with the response, not with the
/// dispatch. The request id comes along through [`correlation::spawn`].
fn dispatch_span(place_order: &Span, order_id: &str) -> Span {
    let span = tracing::info_span!(parent: None, "dispatch", service = "orders", order_id);
    span.follows_from(place_order);
    if !propagation::set_trace_parent(&span, place_order) {
        tracing::debug!("dispatch span not linked to its order");
    }
    span
}

async fn show(
    State(state): State<OrdersState>,
    AppPath(order_id): AppPath<String>,
) -> Result<Json<Order>, AppError> {
    Ok(Json(state.store().get(order_id).await?))
}

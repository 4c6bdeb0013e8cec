//! shipping: ships confirmed orders. It learns of them from the orders outbox, delivered by
//! the relay over NATS JetStream (a durable consumer shared by every instance) or, without a
//! broker, over HTTP (`POST /shipments`). Either way each attempt runs in a `process` span
//! (kind CONSUMER) in the order's trace and logs with the order's request id; an order is
//! shipped once however often its event arrives.
//!
//! Faults can be injected like payments': a share of attempts failing (`fail_rate`, then
//! redelivered) and added latency.
//!
//! # Layout
//! - `shipments`: [`Shipments`], the orders shipped, keyed by order id.
//! - `process`: one delivered event processed; [`ShippingFaults`], [`ShipError`], and why the
//!   span takes the producer as parent rather than a link.
//! - `consumer`: the JetStream consumer: redelivery with backoff, dead letters.

mod consumer;
mod process;
mod shipments;

pub use consumer::{CONSUMER, ConsumerOptions, FIRST_RETRY};
pub use process::{Delivered, MAX_ORDER_ID_LEN, ShipError, ShippingFaults};
pub use shipments::{REMEMBERED, Shipment, Shipments};

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;

use super::background::Background;
use crate::broker::{ATTEMPT, MESSAGE_ID};
use crate::web::{AppError, AppPath};
use ordertrail::correlation::CorrelationLayer;
use ordertrail::propagation::Carrier;
use ordertrail::web::instrument;

/// What shipping holds: its shipments, its faults, and its NATS consumer when it has one.
#[derive(Debug, Clone)]
pub struct ShippingState {
    shipments: Shipments,
    faults: ShippingFaults,
    instance: Arc<str>,
    consumer: Option<Background>,
}

impl ShippingState {
    /// No shipments yet, `faults` injected, no consumer, a fresh instance name.
    pub fn new(faults: ShippingFaults) -> Self {
        let instance = uuid::Uuid::new_v4().simple().to_string();
        Self {
            shipments: Shipments::default(),
            faults,
            instance: instance[..8].into(),
            consumer: None,
        }
    }

    /// The name of this instance, on each of its attempt lines (`instance`): which of several
    /// shipping instances sharing the consumer handled a message.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Starts consuming from NATS JetStream (see `consumer`) on the current runtime, until the
    /// last clone of this state is dropped.
    #[must_use]
    pub fn with_consumer(mut self, options: ConsumerOptions) -> Self {
        let state = Self {
            consumer: None,
            ..self.clone()
        };
        self.consumer = Some(Background::spawn(consumer::run(state, options)));
        self
    }

    /// The shipments.
    pub fn shipments(&self) -> &Shipments {
        &self.shipments
    }

    /// Processes one delivery (see `process`).
    pub(crate) async fn process(
        &self,
        delivered: Delivered<'_>,
        detached: bool,
    ) -> Result<Shipment, ShipError> {
        let parts = process::Parts {
            shipments: &self.shipments,
            faults: &self.faults,
            instance: &self.instance,
        };
        process::process(parts, delivered, detached).await
    }
}

/// `POST /shipments` (an event over HTTP), `GET /shipments/{order_id}`, `GET /healthz`.
pub fn router(state: ShippingState) -> Router {
    let routes = Router::new()
        .route("/shipments", post(deliver))
        .route("/shipments/{order_id}", get(show))
        .with_state(state);
    instrument(routes, CorrelationLayer::new().service("shipping"))
}

/// An event delivered over HTTP, with the headers a NATS message would carry.
async fn deliver(
    State(state): State<ShippingState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Shipment>, AppError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let carrier = Carrier::extract(text);
    let delivered = Delivered {
        payload: &body,
        carrier: &carrier,
        message_id: text(MESSAGE_ID),
        attempt: text(ATTEMPT).and_then(|a| a.parse().ok()).unwrap_or(1),
        system: "http",
    };
    Ok(Json(state.process(delivered, false).await?))
}

async fn show(
    State(state): State<ShippingState>,
    AppPath(order_id): AppPath<String>,
) -> Result<Json<Shipment>, AppError> {
    state
        .shipments
        .get(&order_id)
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no shipment for order {order_id}").into()))
}

//! [`build_router`]: from a service name and settings to its router — the one place where
//! settings become service state, shared by `ordertrail serve` and [`Factory`](super::Factory).

use std::path::PathBuf;

use axum::Router;

use super::ServiceName;
use super::gateway::{self, GatewayState};
use super::inventory::{self, InventoryState};
use super::orders::{self, OrderStore, OrdersState, StoreError};
use super::payments::{self, PaymentsState};
use super::shipping::{self, ConsumerOptions, ShippingFaults, ShippingState};
use crate::broker::Broker;
use ordertrail::outgoing::{ClientConfig, ClientError};

use super::{BaseUrlError, Downstream};
use ordertrail::propagation::InboundTrace;

/// Building a service failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The order database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A peer's URL cannot be called.
    #[error(transparent)]
    Peer(#[from] BaseUrlError),
}

/// Where each service can be reached, as base URLs like `http://127.0.0.1:8081`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The orders service.
    pub orders: String,
    /// The inventory service.
    pub inventory: String,
    /// The payments service.
    pub payments: String,
    /// The shipping service.
    pub shipping: String,
}

impl Endpoints {
    /// All services on `host` at their default ports.
    pub fn local_defaults(host: &str) -> Self {
        let url = |s: ServiceName| format!("http://{host}:{}", s.default_port());
        Self {
            orders: url(ServiceName::Orders),
            inventory: url(ServiceName::Inventory),
            payments: url(ServiceName::Payments),
            shipping: url(ServiceName::Shipping),
        }
    }
}

/// Settings of the services besides where their peers are.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// The orders database file; `None` keeps it in memory.
    pub db_path: Option<PathBuf>,
    /// Faults injected into payments.
    pub payments: PaymentsState,
    /// The outgoing client's timeouts.
    pub client: ClientConfig,
    /// What the gateway does with a caller's trace context; internal services always trust.
    pub gateway_inbound_trace: InboundTrace,
    /// How orders' outbox reaches shipping: off, HTTP, or NATS (then shipping consumes it).
    pub broker: Broker,
    /// Faults injected into shipping.
    pub shipping: ShippingFaults,
    /// How long shipping's NATS consumer waits for an ack, and how many attempts it makes.
    pub redelivery: Redelivery,
}

/// Redelivery settings of shipping's NATS consumer (see [`ConsumerOptions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// How long a delivered message may stay unacknowledged.
    pub ack_wait: std::time::Duration,
    /// Attempts before the dead-letter subject.
    pub max_attempts: u32,
}

impl Default for Redelivery {
    /// As [`ConsumerOptions::new`].
    fn default() -> Self {
        let options = ConsumerOptions::new("");
        Self {
            ack_wait: options.ack_wait,
            max_attempts: options.max_attempts,
        }
    }
}

impl Default for ServiceOptions {
    /// In-memory database, no faults, default timeouts, the gateway linking inbound traces,
    /// no broker (the outbox is written, not delivered).
    fn default() -> Self {
        Self {
            db_path: None,
            payments: PaymentsState::default(),
            client: ClientConfig::default(),
            gateway_inbound_trace: InboundTrace::Link,
            broker: Broker::Off,
            shipping: ShippingFaults::default(),
            redelivery: Redelivery::default(),
        }
    }
}

/// Shipping's state, consuming from NATS when that is the broker.
fn shipping_state(options: &ServiceOptions) -> ShippingState {
    let state = ShippingState::new(options.shipping.clone());
    match &options.broker {
        Broker::Nats { url } => state.with_consumer(ConsumerOptions {
            url: url.clone(),
            ack_wait: options.redelivery.ack_wait,
            max_attempts: options.redelivery.max_attempts,
        }),
        _ => state,
    }
}

/// The router of `name`, wired to its peers. Orders' relay and shipping's consumer start on
/// the current runtime (see [`ServiceOptions::broker`]).
pub fn build_router(
    name: ServiceName,
    peers: &Endpoints,
    options: &ServiceOptions,
) -> Result<Router, BuildError> {
    Ok(match name {
        ServiceName::Gateway => {
            let client = options.client.build()?;
            gateway::router(GatewayState {
                orders: Downstream::new("orders", &peers.orders, client.clone())?,
                inventory: Downstream::new("inventory", &peers.inventory, client)?,
                inbound_trace: options.gateway_inbound_trace,
            })
        }
        ServiceName::Orders => {
            let client = options.client.build()?;
            let store = match &options.db_path {
                Some(path) => OrderStore::open(path)?,
                None => OrderStore::in_memory()?,
            };
            let state = OrdersState::new(
                store,
                Downstream::new("inventory", &peers.inventory, client.clone())?,
                Downstream::new("payments", &peers.payments, client)?,
            );
            orders::router(state.with_relay(options.broker.clone(), &peers.shipping))
        }
        ServiceName::Shipping => shipping::router(shipping_state(options)),
        ServiceName::Inventory => inventory::router(InventoryState::seeded()),
        ServiceName::Payments => payments::router(options.payments.clone()),
    })
}

//! The five services of the order factory. Each module exposes `router(state) -> Router`;
//! binaries and tests bind a listener and call [`ordertrail::web::serve`].
//!
//! ```text
//! client ─▶ gateway ─▶ orders ─┬─▶ inventory   reserve, then (after the response) commit
//!                              ├─▶ payments    charge; declined ⇒ release the reservation
//!                              └┄▶ shipping    later, through the outbox: NATS or HTTP
//! ```
//!
//! # Layout
//! - `api`: the JSON bodies the services exchange.
//! - `downstream`: [`Downstream`], a named service, and [`CallError`], how a call to it fails.
//! - `edge`: each domain error mapped to [`AppError`](crate::web::AppError), in one place.
//! - `build`: [`build_router`], settings to a wired router.
//! - `background`: a task living as long as its service's state (relay, consumer).
//! - `factory`: [`Factory`], all four in one process on loopback (tests, benchmarks).
//! - `gateway`: the public face: validates orders and forwards them.
//! - `orders`: the workflow, stored in SQLite, with a background dispatch.
//! - `inventory`: the catalog and its reservations.
//! - `payments`: charges test cards, with injectable faults.
//! - `shipping`: ships confirmed orders, once each, from NATS or HTTP deliveries.

pub mod api;
mod background;
mod build;
mod downstream;
mod edge;
mod factory;
pub mod gateway;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod shipping;

pub use build::{BuildError, Endpoints, Redelivery, ServiceOptions, build_router};
pub use downstream::{BaseUrlError, CallError, CallFailure, Downstream};
pub use factory::{Factory, FactoryError};

use std::fmt;

/// The `service.namespace` of every factory service (Grafana and Loki find them all by it).
pub const NAMESPACE: &str = "ordertrail";

/// The gateway's port; the others follow it (8081, 8082, 8083, 8084).
pub const DEFAULT_BASE_PORT: u16 = 8080;

/// One of the five services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ServiceName {
    /// The public face (port 8080).
    Gateway,
    /// The order workflow (port 8081).
    Orders,
    /// The catalog and stock (port 8082).
    Inventory,
    /// Card charges (port 8083).
    Payments,
    /// Shipments of confirmed orders (port 8084).
    Shipping,
}

impl ServiceName {
    /// All five, in the order `ordertrail up` starts them (dependencies first).
    pub const ALL: [Self; 5] = [
        Self::Inventory,
        Self::Payments,
        Self::Shipping,
        Self::Orders,
        Self::Gateway,
    ];

    /// The name in logs and telemetry.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Orders => "orders",
            Self::Inventory => "inventory",
            Self::Payments => "payments",
            Self::Shipping => "shipping",
        }
    }

    /// The port it listens on by default.
    pub const fn default_port(self) -> u16 {
        self.port(DEFAULT_BASE_PORT)
    }

    /// Its port when the five take consecutive ports from `base` (gateway first).
    pub const fn port(self, base: u16) -> u16 {
        let offset = match self {
            Self::Gateway => 0,
            Self::Orders => 1,
            Self::Inventory => 2,
            Self::Payments => 3,
            Self::Shipping => 4,
        };
        base.saturating_add(offset)
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

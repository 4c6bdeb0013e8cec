//! # ordertrail-factory
//!
//! A factory of orders in four small axum services — gateway, orders, inventory, payments —
//! instrumented with [`ordertrail`] through its public API only, and the tools around them:
//! following one order's journey, and driving load.
//!
//! # Layout
//! - [`broker`]: how a confirmed order reaches shipping: NATS JetStream, or HTTP without one.
//! - [`services`]: the five services, each a `router(state)`.
//! - [`web`]: what the services share: [`web::AppError`] and [`web::AppJson`].
//! - [`journey`]: one request id followed across services: span waterfall and its log lines.
//! - [`load`]: the load generator: orders at a rate or concurrency, latency histogram, summary.
//! - [`http_url`]: the check every URL the factory calls passes.

pub mod broker;
pub mod http_url;
pub mod journey;
pub mod load;
pub mod services;
pub mod web;

//! A load generator: orders placed through the gateway by a few concurrent workers, at a
//! global rate or as fast as they are answered, bounded in count and time; a latency
//! histogram, counts by status, and the slowest orders to follow.
//!
//! ```no_run
//! use std::time::Duration;
//! use ordertrail_factory::load::{LoadConfig, run};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LoadConfig::new("http://127.0.0.1:8080")
//!     .duration(Duration::from_secs(30))
//!     .rate(50.0)
//!     .concurrency(4);
//! let summary = run(&config, |_outcome| {}, std::future::pending()).await?;
//! print!("{}", summary.to_text());
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `config`: [`LoadConfig`], the run's settings and when it stops; [`LoadConfigError`].
//! - `mix`: [`OrderMix`], which item and which card each order uses.
//! - `pacer`: [`Pacer`], the global schedule: count, deadline, rate.
//! - `stats`: [`Outcome`] of one order and [`Stats`], the HDR histogram and counts.
//! - `summary`: [`Summary`], the report as text or JSON.
//! - `reach`: [`Reach`], whether `--rate` can be reached with `--concurrency` (Little's law),
//!   [`RateProbe`] that measures it early in a run, and [`format_rate`].
//! - `failure`: orders that got no answer, and [`NoAnswer`], a run in which none did.
//! - `engine`: [`run`], the workers; [`LoadError`].
//! - `shipped`: [`Shipped`], the confirmed orders' time from order to shipped, read at shipping.
//! - `prometheus`: [`PrometheusLatency`], Prometheus's percentiles over the run's window.

mod config;
mod engine;
mod failure;
mod mix;
mod pacer;
mod prometheus;
mod reach;
mod shipped;
mod stats;
mod summary;

pub use config::{
    APPROVED_CARD, DECLINED_CARD, DEFAULT_MAX_ORDERS, DEFAULT_ORDERS, DEFAULT_SKUS, LoadConfig,
    LoadConfigError,
};
pub use engine::{LoadError, run};
pub use failure::NoAnswer;
pub use mix::OrderMix;
pub use pacer::Pacer;
pub use prometheus::{
    GATEWAY_ORDERS, PrometheusError, PrometheusLatency, SCRAPE_WAIT, latency as prometheus_latency,
};
pub use reach::{PROBE_ORDERS, PROBE_TIME, RateProbe, Reach, format_rate};
pub use shipped::{MAX_SAMPLED, Shipped, WAIT_FOR_SHIPPED};
pub use stats::{Outcome, SLOWEST, Slow, Stats};
pub use summary::{Latency, SlowOrder, Summary};

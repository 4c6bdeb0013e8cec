//! Process-wide telemetry setup: one call at start, one guard to hold until exit.
//!
//! ```no_run
//! use ordertrail::telemetry::{self, LogFormat, TelemetryConfig};
//!
//! let config = TelemetryConfig::new("gateway").log_format(LogFormat::Json);
//! let guard = telemetry::init(&config).expect("telemetry");
//! tracing::info!("serving");
//! guard.shutdown();
//! ```
//!
//! # Layout
//! - `config`: [`TelemetryConfig`] and [`LogFormat`].
//! - `init`: [`init()`] and the [`TelemetryGuard`] it returns.

mod config;
mod init;

pub use config::{LogFormat, TelemetryConfig};
pub use init::{TelemetryError, TelemetryGuard, init};

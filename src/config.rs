//! Turns parsed flags into validated settings, once. Environment variable names live here.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ordertrail::outgoing::ClientConfig;
use ordertrail::services::payments::PaymentsState;
use ordertrail::services::{Endpoints, ServiceName, ServiceOptions};
use ordertrail::telemetry::TelemetryConfig;

use crate::cli::{FaultArgs, LogArgs, ServeArgs};

/// Every environment variable the binary reads (flags win over them).
pub(crate) mod env {
    pub(crate) const SERVICE: &str = "ORDERTRAIL_SERVICE";
    pub(crate) const LISTEN: &str = "ORDERTRAIL_LISTEN";
    pub(crate) const ORDERS_URL: &str = "ORDERTRAIL_ORDERS_URL";
    pub(crate) const INVENTORY_URL: &str = "ORDERTRAIL_INVENTORY_URL";
    pub(crate) const PAYMENTS_URL: &str = "ORDERTRAIL_PAYMENTS_URL";
    pub(crate) const GATEWAY_URL: &str = "ORDERTRAIL_GATEWAY_URL";
    pub(crate) const DB: &str = "ORDERTRAIL_DB";
    pub(crate) const FAIL_RATE: &str = "ORDERTRAIL_FAIL_RATE";
    pub(crate) const LATENCY_MS: &str = "ORDERTRAIL_LATENCY_MS";
    pub(crate) const CONNECT_TIMEOUT_MS: &str = "ORDERTRAIL_CONNECT_TIMEOUT_MS";
    pub(crate) const REQUEST_TIMEOUT_MS: &str = "ORDERTRAIL_REQUEST_TIMEOUT_MS";
    pub(crate) const LOG_FORMAT: &str = "ORDERTRAIL_LOG_FORMAT";
    pub(crate) const LOG_FILE: &str = "ORDERTRAIL_LOG_FILE";
    pub(crate) const LOG_DIR: &str = "ORDERTRAIL_LOG_DIR";
    pub(crate) const INBOUND_TRACE: &str = "ORDERTRAIL_INBOUND_TRACE";
    pub(crate) const DATA_DIR: &str = "ORDERTRAIL_DATA_DIR";
    /// The usual tracing filter directives.
    pub(crate) const RUST_LOG: &str = "RUST_LOG";
}

/// A flag or variable has a value that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConfigError {
    /// `--fail-rate` is outside 0.0..=1.0.
    #[error("--fail-rate must be between 0.0 and 1.0, got {0}")]
    FailRate(f64),
    /// A peer URL does not parse or is not http(s).
    #[error("--{flag} must be an http:// or https:// URL, got {value:?}")]
    Url {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// A timeout of zero.
    #[error("--{0} must be more than 0")]
    ZeroTimeout(&'static str),
    /// An OpenTelemetry variable is wrong.
    #[error(transparent)]
    Otel(#[from] crate::otel_env::OtelEnvError),
}

/// Everything `ordertrail serve` needs.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    pub(crate) service: ServiceName,
    pub(crate) listen: SocketAddr,
    pub(crate) peers: Endpoints,
    pub(crate) options: ServiceOptions,
    pub(crate) telemetry: TelemetryConfig,
}

impl TryFrom<ServeArgs> for ServeConfig {
    type Error = ConfigError;

    fn try_from(args: ServeArgs) -> Result<Self, ConfigError> {
        let peers = Endpoints {
            orders: http_url("orders-url", args.peers.orders_url)?,
            inventory: http_url("inventory-url", args.peers.inventory_url)?,
            payments: http_url("payments-url", args.peers.payments_url)?,
        };
        let client = ClientConfig {
            connect_timeout: positive_ms("connect-timeout-ms", args.connect_timeout_ms)?,
            request_timeout: positive_ms("request-timeout-ms", args.request_timeout_ms)?,
            ..ClientConfig::default()
        };
        let options = ServiceOptions {
            db_path: Some(args.db),
            payments: payments(&args.faults)?,
            client,
            gateway_inbound_trace: args.inbound_trace,
        };
        let default_listen =
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.service.default_port());
        Ok(Self {
            service: args.service,
            listen: args.listen.unwrap_or(default_listen),
            peers,
            options,
            telemetry: telemetry(args.service.as_str(), &args.log)?,
        })
    }
}

/// Fault settings, checked.
pub(crate) fn payments(faults: &FaultArgs) -> Result<PaymentsState, ConfigError> {
    if !(0.0..=1.0).contains(&faults.fail_rate) {
        return Err(ConfigError::FailRate(faults.fail_rate));
    }
    Ok(PaymentsState {
        fail_rate: faults.fail_rate,
        latency: Duration::from_millis(faults.latency_ms),
    })
}

/// Log settings from flags, `RUST_LOG`, and the standard `OTEL_*` variables.
fn telemetry(service: &str, log: &LogArgs) -> Result<TelemetryConfig, ConfigError> {
    let mut config = TelemetryConfig::new(service)
        .log_format(log.log_format)
        .log_filter(std::env::var(env::RUST_LOG).unwrap_or_default());
    config.log_file.clone_from(&log.log_file);
    Ok(crate::otel_env::apply(config, |name| {
        std::env::var(name).ok()
    })?)
}

fn http_url(flag: &'static str, value: String) -> Result<String, ConfigError> {
    match reqwest::Url::parse(&value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(value),
        _ => Err(ConfigError::Url { flag, value }),
    }
}

fn positive_ms(flag: &'static str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(ConfigError::ZeroTimeout(flag));
    }
    Ok(Duration::from_millis(ms))
}

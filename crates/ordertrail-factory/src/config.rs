//! Turns parsed flags into validated settings, once. Environment variable names live here.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ordertrail::outgoing::ClientConfig;
use ordertrail::telemetry::TelemetryConfig;
use ordertrail_factory::services::payments::PaymentsState;
use ordertrail_factory::services::{Endpoints, NAMESPACE, ServiceName, ServiceOptions};

use ordertrail_factory::broker::Broker;
use ordertrail_factory::services::shipping::ShippingFaults;

use crate::cli::{BrokerArg, BrokerArgs, FaultArgs, LogArgs, ServeArgs};

/// Every environment variable the binary reads (flags win over them).
pub(crate) mod env {
    pub(crate) const SERVICE: &str = "ORDERTRAIL_SERVICE";
    pub(crate) const LISTEN: &str = "ORDERTRAIL_LISTEN";
    pub(crate) const ORDERS_URL: &str = "ORDERTRAIL_ORDERS_URL";
    pub(crate) const INVENTORY_URL: &str = "ORDERTRAIL_INVENTORY_URL";
    pub(crate) const PAYMENTS_URL: &str = "ORDERTRAIL_PAYMENTS_URL";
    pub(crate) const SHIPPING_URL: &str = "ORDERTRAIL_SHIPPING_URL";
    pub(crate) const BROKER: &str = "ORDERTRAIL_BROKER";
    pub(crate) const NATS_URL: &str = "ORDERTRAIL_NATS_URL";
    pub(crate) const SHIPPING_FAIL_RATE: &str = "ORDERTRAIL_SHIPPING_FAIL_RATE";
    pub(crate) const SHIPPING_LATENCY_MS: &str = "ORDERTRAIL_SHIPPING_LATENCY_MS";
    pub(crate) const GATEWAY_URL: &str = "ORDERTRAIL_GATEWAY_URL";
    pub(crate) const DB: &str = "ORDERTRAIL_DB";
    pub(crate) const FAIL_RATE: &str = "ORDERTRAIL_FAIL_RATE";
    pub(crate) const LATENCY_MS: &str = "ORDERTRAIL_LATENCY_MS";
    pub(crate) const CONNECT_TIMEOUT_MS: &str = "ORDERTRAIL_CONNECT_TIMEOUT_MS";
    pub(crate) const REQUEST_TIMEOUT_MS: &str = "ORDERTRAIL_REQUEST_TIMEOUT_MS";
    pub(crate) const LOG_FORMAT: &str = "ORDERTRAIL_LOG_FORMAT";
    pub(crate) const LOG_FILE: &str = "ORDERTRAIL_LOG_FILE";
    pub(crate) const LOG_DIR: &str = "ORDERTRAIL_LOG_DIR";
    pub(crate) const BASE_PORT: &str = "ORDERTRAIL_BASE_PORT";
    pub(crate) const OTLP_PORT: &str = "ORDERTRAIL_OTLP_PORT";
    pub(crate) const JAEGER_URL: &str = "ORDERTRAIL_JAEGER_URL";
    pub(crate) const LOKI_URL: &str = "ORDERTRAIL_LOKI_URL";
    pub(crate) const INBOUND_TRACE: &str = "ORDERTRAIL_INBOUND_TRACE";
    /// How often export losses are reported, in milliseconds (default 10,000).
    pub(crate) const LOSS_REPORT_MS: &str = "ORDERTRAIL_LOSS_REPORT_MS";
    /// Set by `ordertrail up` on its children: the pid they live and die with.
    pub(crate) const PARENT_PID: &str = "ORDERTRAIL_PARENT_PID";
    pub(crate) const DATA_DIR: &str = "ORDERTRAIL_DATA_DIR";
    pub(crate) const WORKERS: &str = "ORDERTRAIL_WORKERS";
    /// Set by a master for its workers (see `ordertrail_supervisor::env`).
    pub(crate) const LISTEN_FD: &str = ordertrail_supervisor::env::LISTEN_FD;
    pub(crate) const READY_FD: &str = ordertrail_supervisor::env::READY_FD;
    pub(crate) const WORKER_INDEX: &str = ordertrail_supervisor::env::WORKER_INDEX;
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
    /// `--nats-url` is not a `nats://` URL.
    #[error("--nats-url must be a nats:// URL, got {0:?}")]
    NatsUrl(String),
    /// A variable that must hold a positive number of milliseconds does not.
    #[error("{name} must be a positive whole number of milliseconds, got {value:?}")]
    Millis {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A timeout of zero.
    #[error("--{0} must be more than 0")]
    ZeroTimeout(&'static str),
    /// An OpenTelemetry variable is wrong.
    #[error(transparent)]
    Otel(#[from] ordertrail::telemetry::EnvError),
    /// A variable a master sets for its workers is missing or not a number.
    #[error("{name} must be a number set by the master process, got {value:?}")]
    WorkerEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: Option<String>,
    },
}

/// What this `serve` process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    /// One process on a multi-thread runtime (no `--workers`).
    Single,
    /// A master: binds, starts and supervises this many workers, serves nothing.
    Master { workers: usize },
    /// A worker started by a master, with what it inherited.
    Worker(WorkerFds),
}

/// The descriptors and index a master passed to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkerFds {
    pub(crate) index: u32,
    pub(crate) listen_fd: i32,
    pub(crate) ready_fd: i32,
}

/// Everything `ordertrail serve` needs.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    pub(crate) service: ServiceName,
    pub(crate) listen: SocketAddr,
    pub(crate) peers: Endpoints,
    pub(crate) options: ServiceOptions,
    pub(crate) telemetry: TelemetryConfig,
    pub(crate) process: Process,
}

impl TryFrom<ServeArgs> for ServeConfig {
    type Error = ConfigError;

    fn try_from(args: ServeArgs) -> Result<Self, ConfigError> {
        let peers = Endpoints {
            orders: http_url("orders-url", args.peers.orders_url)?,
            inventory: http_url("inventory-url", args.peers.inventory_url)?,
            payments: http_url("payments-url", args.peers.payments_url)?,
            shipping: http_url("shipping-url", args.peers.shipping_url)?,
        };
        let client = ClientConfig::default()
            .connect_timeout(positive_ms("connect-timeout-ms", args.connect_timeout_ms)?)
            .request_timeout(positive_ms("request-timeout-ms", args.request_timeout_ms)?);
        let options = ServiceOptions {
            db_path: Some(args.db),
            payments: payments(&args.faults)?,
            client,
            gateway_inbound_trace: args.inbound_trace.into(),
            broker: broker(&args.broker)?,
            shipping: shipping(&args.broker)?,
            ..ServiceOptions::default()
        };
        let default_listen =
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.service.default_port());
        let process = process(args.workers, |name| std::env::var(name).ok())?;
        let mut telemetry = telemetry(args.service.as_str(), &args.log)?;
        if let Process::Worker(fds) = process {
            telemetry = telemetry.line_field("worker", fds.index);
        }
        Ok(Self {
            service: args.service,
            listen: args.listen.unwrap_or(default_listen),
            peers,
            options,
            telemetry,
            process,
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

/// The broker settings, checked.
fn broker(args: &BrokerArgs) -> Result<Broker, ConfigError> {
    Ok(match args.broker {
        BrokerArg::Off => Broker::Off,
        BrokerArg::Http => Broker::Http,
        BrokerArg::Nats => Broker::Nats {
            url: nats_url(&args.nats_url)?,
        },
    })
}

/// A `nats://` (or `tls://`) URL with a host.
pub(crate) fn nats_url(value: &str) -> Result<String, ConfigError> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "nats" | "tls") && url.has_host() => Ok(value.to_owned()),
        _ => Err(ConfigError::NatsUrl(value.to_owned())),
    }
}

/// Shipping's fault settings, checked.
fn shipping(args: &BrokerArgs) -> Result<ShippingFaults, ConfigError> {
    let fail_rate = args.shipping.shipping_fail_rate;
    if !(0.0..=1.0).contains(&fail_rate) {
        return Err(ConfigError::FailRate(fail_rate));
    }
    Ok(ShippingFaults {
        fail_rate,
        latency: Duration::from_millis(args.shipping.shipping_latency_ms),
    })
}

/// Log settings from flags, `RUST_LOG`, and the standard `OTEL_*` variables.
fn telemetry(service: &str, log: &LogArgs) -> Result<TelemetryConfig, ConfigError> {
    let mut config = TelemetryConfig::new(service, env!("CARGO_PKG_VERSION"))
        .service_namespace(NAMESPACE)
        .metrics(ordertrail::metrics::Metrics::new())
        .log_format(log.log_format.into())
        .log_filter(std::env::var(env::RUST_LOG).unwrap_or_default());
    config.log_file.clone_from(&log.log_file);
    if let Ok(text) = std::env::var(env::LOSS_REPORT_MS) {
        let ms = text.trim().parse::<u64>().ok().filter(|ms| *ms > 0);
        let ms = ms.ok_or(ConfigError::Millis {
            name: env::LOSS_REPORT_MS,
            value: text,
        })?;
        config.loss_report_every = Duration::from_millis(ms);
    }
    Ok(ordertrail::telemetry::apply_env(config, |name| {
        std::env::var(name).ok()
    })?)
}

/// A worker when the master's variables are set (whatever `--workers` says: a worker is
/// started with its master's arguments), else a master with `--workers`, else one process.
fn process(
    workers: Option<u16>,
    var: impl Fn(&'static str) -> Option<String>,
) -> Result<Process, ConfigError> {
    if var(env::LISTEN_FD).is_none() && var(env::WORKER_INDEX).is_none() {
        return Ok(match workers {
            Some(n) => Process::Master {
                workers: usize::from(n),
            },
            None => Process::Single,
        });
    }
    Ok(Process::Worker(WorkerFds {
        index: env_number(&var, env::WORKER_INDEX)?,
        listen_fd: env_number(&var, env::LISTEN_FD)?,
        ready_fd: env_number(&var, env::READY_FD)?,
    }))
}

fn env_number<T: std::str::FromStr>(
    var: &impl Fn(&'static str) -> Option<String>,
    name: &'static str,
) -> Result<T, ConfigError> {
    let value = var(name);
    value
        .as_deref()
        .and_then(|v| v.trim().parse().ok())
        .ok_or(ConfigError::WorkerEnv { name, value })
}

pub(crate) fn http_url(flag: &'static str, value: String) -> Result<String, ConfigError> {
    match ordertrail_factory::http_url::parse(&value) {
        Some(_) => Ok(value),
        None => Err(ConfigError::Url { flag, value }),
    }
}

fn positive_ms(flag: &'static str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(ConfigError::ZeroTimeout(flag));
    }
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(set: &[(&'static str, &'static str)]) -> impl Fn(&'static str) -> Option<String> {
        let set = set.to_vec();
        move |name| {
            set.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn workers_flag_makes_a_master_and_none_a_single_process() {
        assert_eq!(process(None, vars(&[])).unwrap(), Process::Single);
        assert_eq!(
            process(Some(4), vars(&[])).unwrap(),
            Process::Master { workers: 4 }
        );
    }

    #[test]
    fn the_masters_variables_make_a_worker_whatever_the_flag() {
        let set = [
            (env::LISTEN_FD, "5"),
            (env::READY_FD, "7"),
            (env::WORKER_INDEX, "2"),
        ];
        let expected = Process::Worker(WorkerFds {
            index: 2,
            listen_fd: 5,
            ready_fd: 7,
        });
        assert_eq!(process(Some(4), vars(&set)).unwrap(), expected);
    }

    #[test]
    fn a_half_set_worker_environment_is_an_error() {
        let err = process(
            None,
            vars(&[(env::LISTEN_FD, "5"), (env::WORKER_INDEX, "x")]),
        );
        assert!(matches!(
            err,
            Err(ConfigError::WorkerEnv { name, .. }) if name == env::WORKER_INDEX
        ));
    }
}

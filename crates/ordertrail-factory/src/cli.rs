//! Command-line types (clap derive) and nothing else; [`crate::config`] validates them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ordertrail::propagation::InboundTrace;
use ordertrail::telemetry::LogFormat;
use ordertrail_factory::services::ServiceName;

use crate::config::env;

/// One request, traceable end to end: five order services with correlation ids in every
/// log line, header and span.
#[derive(Debug, Parser)]
#[command(name = "ordertrail", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one service.
    Serve(ServeArgs),
    /// Run all five services locally, with a merged log stream and logs/<service>.jsonl.
    Up(UpArgs),
    /// Place one order through the gateway and show how to find it in the logs.
    Order(OrderArgs),
    /// Receive OTLP traces and logs (gRPC and HTTP/protobuf) and append them as OTLP-JSON lines.
    Collect(CollectArgs),
    /// Show one order's journey across the services: its spans as a waterfall, each log line
    /// under the span it was written in.
    Follow(FollowArgs),
    /// Place orders through the gateway and report throughput, latency and statuses.
    Load(LoadArgs),
    /// GET a URL (2 s timeout) for container healthchecks: exit 0 on 2xx, 1 otherwise.
    Health(HealthArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct HealthArgs {
    /// The URL to probe, e.g. http://127.0.0.1:8080/healthz.
    pub(crate) url: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CollectArgs {
    /// Address to receive OTLP on (gRPC and HTTP share it).
    #[arg(long, default_value = "127.0.0.1:4317")]
    pub(crate) listen: SocketAddr,
    /// Directory for traces.jsonl and otlp-logs.jsonl (what `ordertrail up` uses, and
    /// `follow` reads).
    #[arg(long, default_value = "logs/otlp")]
    pub(crate) out: PathBuf,
}

/// How log lines are written.
#[derive(Debug, Clone, Args)]
pub(crate) struct LogArgs {
    /// Format of stdout lines (files always get JSON lines).
    #[arg(long, value_enum, env = env::LOG_FORMAT, default_value = "json")]
    pub(crate) log_format: LogFormatArg,
    /// Also append JSON lines to this file.
    #[arg(long, env = env::LOG_FILE)]
    pub(crate) log_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// The service to run.
    #[arg(value_enum, env = env::SERVICE)]
    pub(crate) service: ServiceName,
    /// Address to listen on [default: 127.0.0.1 and the service's port: gateway 8080,
    /// orders 8081, inventory 8082, payments 8083].
    #[arg(long, env = env::LISTEN)]
    pub(crate) listen: Option<SocketAddr>,
    #[command(flatten)]
    pub(crate) peers: PeerArgs,
    /// The orders database file.
    #[arg(long, env = env::DB, default_value = "data/orders.sqlite3")]
    pub(crate) db: PathBuf,
    #[command(flatten)]
    pub(crate) faults: FaultArgs,
    #[command(flatten)]
    pub(crate) broker: BrokerArgs,
    /// Gateway only: what to do with a caller's traceparent — `link` (new trace linked to the
    /// caller's), `trust` (continue it) or `ignore`. Internal services always trust.
    #[arg(long, value_enum, env = env::INBOUND_TRACE, default_value = "link")]
    pub(crate) inbound_trace: InboundTraceArg,
    /// Connect timeout of outgoing calls, in milliseconds.
    #[arg(long, env = env::CONNECT_TIMEOUT_MS, default_value_t = 2_000)]
    pub(crate) connect_timeout_ms: u64,
    /// Timeout of a whole outgoing call, in milliseconds.
    #[arg(long, env = env::REQUEST_TIMEOUT_MS, default_value_t = 10_000)]
    pub(crate) request_timeout_ms: u64,
    /// Run a master process and this many worker processes sharing the port, each with one
    /// event loop (like `uvicorn --workers N`). Without it: one process, multi-threaded.
    #[arg(long, env = env::WORKERS, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) workers: Option<u16>,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// Where the other services are.
#[derive(Debug, Clone, Args)]
pub(crate) struct PeerArgs {
    /// Base URL of the orders service.
    #[arg(long, env = env::ORDERS_URL, default_value = "http://127.0.0.1:8081")]
    pub(crate) orders_url: String,
    /// Base URL of the inventory service.
    #[arg(long, env = env::INVENTORY_URL, default_value = "http://127.0.0.1:8082")]
    pub(crate) inventory_url: String,
    /// Base URL of the payments service.
    #[arg(long, env = env::PAYMENTS_URL, default_value = "http://127.0.0.1:8083")]
    pub(crate) payments_url: String,
    /// Base URL of the shipping service (orders delivers to it with `--broker http`).
    #[arg(long, env = env::SHIPPING_URL, default_value = "http://127.0.0.1:8084")]
    pub(crate) shipping_url: String,
}

/// How orders' outbox reaches shipping, and shipping's faults.
#[derive(Debug, Clone, Args)]
pub(crate) struct BrokerArgs {
    /// `off`: orders keeps its outbox, nothing delivers it; `http`: orders POSTs each event
    /// to shipping; `nats`: through NATS JetStream at --nats-url (shipping consumes it).
    #[arg(long, value_enum, env = env::BROKER, default_value = "off")]
    pub(crate) broker: BrokerArg,
    /// The NATS server, with `--broker nats`.
    #[arg(long, env = env::NATS_URL, default_value = "nats://127.0.0.1:4222")]
    pub(crate) nats_url: String,
    #[command(flatten)]
    pub(crate) shipping: ShippingFaultArgs,
}

/// The broker, as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BrokerArg {
    /// No delivery.
    Off,
    /// Over HTTP, nothing to install.
    Http,
    /// Over NATS JetStream.
    Nats,
}

/// Faults injected into shipping, for demonstrations.
#[derive(Debug, Clone, Args)]
pub(crate) struct ShippingFaultArgs {
    /// Share of shipping attempts (0.0 to 1.0) that fail and are delivered again.
    #[arg(long, env = env::SHIPPING_FAIL_RATE, default_value_t = 0.0)]
    pub(crate) shipping_fail_rate: f64,
    /// Latency added to every shipping attempt, in milliseconds.
    #[arg(long, env = env::SHIPPING_LATENCY_MS, default_value_t = 0)]
    pub(crate) shipping_latency_ms: u64,
}

/// Faults injected into payments, for demonstrations.
#[derive(Debug, Clone, Args)]
pub(crate) struct FaultArgs {
    /// Share of charges (0.0 to 1.0) that fail with 503.
    #[arg(long, env = env::FAIL_RATE, default_value_t = 0.0)]
    pub(crate) fail_rate: f64,
    /// Latency added to every charge, in milliseconds.
    #[arg(long, env = env::LATENCY_MS, default_value_t = 0)]
    pub(crate) latency_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct UpArgs {
    /// Directory for <service>.jsonl log files (and the collector's files, in its otlp/).
    #[arg(long, env = env::LOG_DIR, default_value = "logs")]
    pub(crate) log_dir: PathBuf,
    /// Directory for the orders database.
    #[arg(long, env = env::DATA_DIR, default_value = "data")]
    pub(crate) data_dir: PathBuf,
    /// Host the services listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: std::net::IpAddr,
    /// The gateway's port; orders, inventory, payments and shipping take the next four.
    #[arg(long, env = env::BASE_PORT, default_value_t = 8080, value_parser = clap::value_parser!(u16).range(1..=65532))]
    pub(crate) base_port: u16,
    /// Port of the embedded OTLP collector (traces and logs go to <log-dir>/otlp/traces.jsonl
    /// and <log-dir>/otlp/otlp-logs.jsonl). Ignored when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    #[arg(long, env = env::OTLP_PORT, default_value_t = 4317)]
    pub(crate) otlp_port: u16,
    /// Run gateway, orders and payments as a master with this many workers each (inventory
    /// and shipping keep their state in memory, so they stay one process each).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) workers: Option<u16>,
    #[command(flatten)]
    pub(crate) faults: FaultArgs,
    /// How orders reaches shipping: `http` (default, nothing to install) or `nats` (JetStream:
    /// the server at --nats-url, or else a `nats-server` from PATH that `up` starts).
    #[arg(long, value_enum, default_value = "http")]
    pub(crate) broker: BrokerArg,
    /// A running NATS server for `--broker nats` (implies it).
    #[arg(long, env = env::NATS_URL)]
    pub(crate) nats_url: Option<String>,
    #[command(flatten)]
    pub(crate) shipping: ShippingFaultArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct OrderArgs {
    /// What to order (see GET /catalog).
    #[arg(long, default_value = "mug-classic")]
    pub(crate) sku: String,
    /// How many (1 to 100).
    #[arg(long, default_value_t = 1)]
    pub(crate) quantity: u32,
    /// The card: 4242 4242 4242 4242 is approved, 4000 0000 0000 0002 declined.
    #[arg(long, default_value = "4242 4242 4242 4242")]
    pub(crate) card: String,
    /// Send this request id instead of letting the gateway make one.
    #[arg(long)]
    pub(crate) request_id: Option<String>,
    /// Base URL of the gateway.
    #[arg(long, env = env::GATEWAY_URL, default_value = "http://127.0.0.1:8080")]
    pub(crate) gateway: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct FollowArgs {
    /// The request id (the `x-request-id` of the order's answer).
    pub(crate) request_id: String,
    /// Directory `ordertrail up` writes to: <service>.jsonl, traces.jsonl, otlp-logs.jsonl.
    #[arg(long, env = env::LOG_DIR, default_value = "logs")]
    pub(crate) log_dir: PathBuf,
    /// Take spans from Jaeger's HTTP API v3 at this URL (like http://localhost:16686).
    #[arg(long, env = env::JAEGER_URL)]
    pub(crate) jaeger: Option<String>,
    /// Take log lines from Loki at this URL (like http://localhost:3100).
    #[arg(long, env = env::LOKI_URL)]
    pub(crate) loki: Option<String>,
    /// How far back Jaeger and Loki search (like 30m, 6h).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub(crate) since: std::time::Duration,
    /// Print the journey as one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
    /// Wait up to this long (like 5s, 500ms; 0 = no wait) for spans still being exported:
    /// until every service that logged the id has its server span and every log line its span.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub(crate) wait: std::time::Duration,
    /// Fit the waterfall into this many columns [default: the terminal's width, or 100 when
    /// stdout is not a terminal].
    #[arg(long, value_parser = clap::value_parser!(u16).range(40..))]
    pub(crate) width: Option<u16>,
    /// Colour and block-character bars: `auto` on a terminal unless NO_COLOR is set, `always`,
    /// or `never` (ASCII bars on a terminal too).
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) color: clap::ColorChoice,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct LoadArgs {
    /// Stop after this many orders [default: 100 when --duration is not given either].
    #[arg(long)]
    pub(crate) orders: Option<u64>,
    /// Stop after this long (like 30s, 10m, 24h).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) duration: Option<std::time::Duration>,
    /// Orders in flight at once.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
    /// Orders started per second, over all workers [default: as fast as they are answered].
    /// Needs --concurrency of at least rate × latency; a warning says when it falls short.
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Share of orders paid with the always-declined card 4000 0000 0000 0002.
    #[arg(long, default_value_t = 0.1)]
    pub(crate) decline_rate: f64,
    /// Never place more orders than this, whatever the duration and rate.
    #[arg(long, default_value_t = ordertrail_factory::load::DEFAULT_MAX_ORDERS)]
    pub(crate) max_orders: u64,
    /// Timeout of one order (like 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) timeout: std::time::Duration,
    /// Seed of the random item and card choices.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Base URL of the gateway.
    #[arg(long, env = env::GATEWAY_URL, default_value = "http://127.0.0.1:8080")]
    pub(crate) gateway: String,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also print the p50/p99 that this Prometheus (base URL) computed for the run's window
    /// from the gateway's latency histogram.
    #[arg(long, value_name = "URL")]
    pub(crate) prometheus: Option<String>,
    /// Also report the confirmed orders' time from order to shipped, read at this shipping
    /// service (base URL, e.g. http://127.0.0.1:8084) after the run.
    #[arg(long, value_name = "URL")]
    pub(crate) shipping: Option<String>,
}

/// `--log-format`: how stdout lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Short human-readable lines.
    Pretty,
}

impl From<LogFormatArg> for LogFormat {
    fn from(arg: LogFormatArg) -> Self {
        match arg {
            LogFormatArg::Json => Self::Json,
            LogFormatArg::Pretty => Self::Pretty,
        }
    }
}

/// `--inbound-trace`: what the gateway does with a caller's trace context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum InboundTraceArg {
    /// A new trace with a span link to the caller's.
    Link,
    /// Continue the caller's trace.
    Trust,
    /// Keep nothing of the caller's context.
    Ignore,
}

impl From<InboundTraceArg> for InboundTrace {
    fn from(arg: InboundTraceArg) -> Self {
        match arg {
            InboundTraceArg::Link => Self::Link,
            InboundTraceArg::Trust => Self::Trust,
            InboundTraceArg::Ignore => Self::Ignore,
        }
    }
}

//! RED metrics of HTTP traffic with exemplars — from a latency bucket to the trace of one
//! request in it — out through a `/metrics` endpoint and over OTLP.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::Router;
//! use axum::routing::get;
//! use ordertrail::correlation::CorrelationLayer;
//! use ordertrail::metrics::{self, Metrics};
//! use ordertrail::telemetry::{self, TelemetryConfig};
//!
//! let metrics = Metrics::new();
//! let config = TelemetryConfig::new("checkout", "1.0.0").metrics(metrics.clone());
//! let _telemetry = telemetry::init(&config)?; // adds the recording layer
//! let app = ordertrail::web::instrument(
//!     Router::new().route("/orders/{id}", get(|| async { "{}" })),
//!     CorrelationLayer::new().service("checkout"),
//! )
//! .merge(metrics::router(metrics)); // GET /metrics, outside the request middleware
//! # let _ = app; Ok(()) }
//! ```
//!
//! # What is recorded
//! No handler code: [`MetricsLayer`] watches the request span of the
//! [`CorrelationLayer`](crate::correlation::CorrelationLayer) and the client span of the
//! outgoing middleware, and records, by the OpenTelemetry HTTP semantic conventions (with
//! dots as underscores, as Prometheus names them):
//! - `http_server_request_duration_seconds` (histogram): `http_request_method`, `http_route`,
//!   `http_response_status_code`, `error_type` (the status code of a 5xx);
//! - `http_client_request_duration_seconds` (histogram): the same plus `server_address` and
//!   `server_port`; `error_type` is the status of a 4xx/5xx answer, or `timeout`/`transport`;
//! - `http_server_active_requests` (gauge), by `http_request_method`;
//! - the pipeline's own health: `ordertrail_export_items_total{signal, outcome}` (spans and log
//!   records exported, failed, dropped) and `ordertrail_log_lines_dropped_total`.
//!
//! Rate is a histogram's `_count`, errors its `_count` with an `error_type`, duration its
//! buckets ([`HTTP_DURATION_BUCKETS`], the conventions' recommended boundaries).
//!
//! Recording does not depend on the log filter: the layer enables the HTTP spans for itself, so
//! `RUST_LOG=warn` still counts every request. Exemplars do: they need the span traced, which
//! the OpenTelemetry layer does only for spans its filter lets through (`info` and up).
//!
//! # Exemplars
//! Each bucket keeps the latest request that fell in it, with `trace_id`, `span_id` and, when
//! the label set stays within OpenMetrics' 128 characters, `request_id` ([`ExemplarLabels`]).
//! They appear in the OpenMetrics format only: Prometheus asks for it (and stores them with
//! `--enable-feature=exemplar-storage`); a client without `Accept: application/openmetrics-text`
//! gets the classic text format, which has no place for them ([`Format::negotiate`]).
//!
//! # Cardinality
//! Label values come from bounded sets — route templates, never paths; known methods; status
//! codes — and each histogram keeps at most [`MAX_SERIES`] label sets, the rest going to one
//! `otel_metric_overflow="true"` series. A request id or a trace id is never a label: it is an
//! exemplar, one per bucket.
//!
//! # Where `/metrics` is served
//! On each service's own port ([`router`], merged after the request middleware): one port per
//! service to open and to scrape, and the scrape sees the process that served the traffic. A
//! separate port pays off when the service port is public (the metrics would be too) or when
//! several processes share one listening socket: then a scrape reaches one of them at random,
//! and each has its own registry. Serve [`router`] on a listener of its own in that case.
//!
//! # OTLP
//! With a metrics endpoint set ([`TelemetryConfig::otlp_endpoint`] sets one beside traces and
//! logs, `OTEL_METRIC_EXPORT_INTERVAL` sets the period), the same instruments are also recorded
//! on an OpenTelemetry meter and exported periodically (cumulative). The OpenTelemetry Rust
//! SDK does not implement exemplars yet, so the OTLP data points carry none.
//!
//! # Crates
//! `prometheus-client` (the Prometheus project's Rust client) is the one Rust client that
//! writes OpenMetrics exemplars, and it writes the classic format from the same registry.
//! `opentelemetry_sdk` metrics with `opentelemetry-otlp` export OTLP with the same providers,
//! resource and endpoints as the traces and logs.
//!
//! [`TelemetryConfig::otlp_endpoint`]: crate::telemetry::TelemetryConfig::otlp_endpoint
//!
//! # Layout
//! - `buckets`: [`HTTP_DURATION_BUCKETS`].
//! - `labels`: the histograms' label sets and how their values stay few ([`MAX_SERIES`]).
//! - `exemplar`: [`ExemplarLabels`], within [`MAX_EXEMPLAR_CHARS`].
//! - `instruments`: the histograms and the gauge in the registry.
//! - `otel`: the same instruments on an OpenTelemetry meter.
//! - `health`: the pipeline's own counts, read at each scrape.
//! - `registry`: [`Metrics`], the handle shared by the layer and the endpoint.
//! - `layer`: [`MetricsLayer`], which records from spans.
//! - `format`: [`Format`], content negotiation.
//! - `endpoint`: [`router`], `GET /metrics` (feature `axum`).

mod buckets;
#[cfg(feature = "axum")]
mod endpoint;
mod exemplar;
mod format;
mod health;
mod instruments;
mod labels;
mod layer;
mod otel;
mod registry;

pub use buckets::HTTP_DURATION_BUCKETS;
#[cfg(feature = "axum")]
pub use endpoint::router;
pub use exemplar::{ExemplarLabels, MAX_EXEMPLAR_CHARS};
pub use format::{Format, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
pub use labels::{MAX_SERIES, MAX_VALUE_CHARS};
pub use layer::MetricsLayer;
pub use registry::{EncodeError, Metrics};

//! A hello service instrumented in three statements: telemetry, one layer, one client.
//!
//! Run with
//! ```text
//! cargo run -p ordertrail --example hello
//! curl -si 127.0.0.1:3000/hello -H 'x-request-id: my-first-id'
//! ```
//! Each request logs one JSON line with top-level `request_id`, `trace_id` and `span_id`; set
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317` to export spans and log records too.
//! `HELLO_ADDR` changes the address.

use axum::{Router, routing::get};
use ordertrail::correlation::{self, CorrelationLayer};
use ordertrail::outgoing::ClientConfig;
use ordertrail::telemetry::{self, TelemetryConfig};

async fn hello() -> String {
    // Any code inside the request reads the id…
    let id = correlation::current()
        .map(|id| id.to_string())
        .unwrap_or_default();
    // …and work spawned with correlation::spawn keeps it, after the response too.
    correlation::spawn(async { tracing::info!("still carries the request id") });
    format!("hello, request {id}\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. JSON log lines, spans and OTLP export, configured by OTEL_* and RUST_LOG.
    let config = TelemetryConfig::from_env("hello", env!("CARGO_PKG_VERSION"))?;
    let telemetry = telemetry::init(&config)?;
    // 2. One layer: the id, the request span, the completion line.
    let app = Router::new()
        .route("/hello", get(hello))
        .layer(CorrelationLayer::new());
    // 3. One client: every call carries x-request-id, traceparent, tracestate and baggage.
    let _client = ClientConfig::default().build()?;

    let addr = std::env::var("HELLO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(%addr, "serving");
    ordertrail::web::serve(listener, app, ordertrail::web::shutdown_signal()).await?;
    for err in telemetry.shutdown().await {
        eprintln!("telemetry: {err}");
    }
    Ok(())
}

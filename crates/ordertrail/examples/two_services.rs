//! Two services, one trace: `front` answers `/greet` by calling `back`'s `/name` with the
//! instrumented client, so both log the same `request_id` and `trace_id`, and `back`'s span is
//! a child of `front`'s client span.
//!
//! Run with
//! ```text
//! cargo run -p ordertrail --example two_services
//! curl -s 127.0.0.1:3000/greet -H 'x-request-id: two-hops-1'
//! ```
//! Both services run in this one process (on 127.0.0.1:3000 and :3001) to keep the example
//! short; each names itself in its layer, so every line says which one wrote it. Deployed, each
//! would be its own binary with its own `TelemetryConfig`.

use axum::extract::State;
use axum::{Router, routing::get};
use ordertrail::correlation::CorrelationLayer;
use ordertrail::outgoing::ClientConfig;
use ordertrail::telemetry::{self, TelemetryConfig};
use ordertrail::web;
use reqwest_middleware::ClientWithMiddleware;

const FRONT: &str = "127.0.0.1:3000";
const BACK: &str = "127.0.0.1:3001";

/// `front`'s handler: one call to `back`, whose answer it wraps.
async fn greet(State(client): State<ClientWithMiddleware>) -> Result<String, String> {
    let name = client
        .get(format!("http://{BACK}/name"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("hello, {name}\n"))
}

/// `back`'s handler.
async fn name() -> &'static str {
    tracing::info!("looking the name up");
    "world"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = TelemetryConfig::from_env("two-services", env!("CARGO_PKG_VERSION"))?;
    let telemetry = telemetry::init(&config)?;
    let client = ClientConfig::default().build()?;

    let front = Router::new()
        .route("/greet", get(greet))
        .with_state(client)
        .layer(CorrelationLayer::new().service("front"));
    let back = Router::new()
        .route("/name", get(name))
        .layer(CorrelationLayer::new().service("back"));

    let (front_listener, back_listener) = (
        tokio::net::TcpListener::bind(FRONT).await?,
        tokio::net::TcpListener::bind(BACK).await?,
    );
    tracing::info!(front = FRONT, back = BACK, "serving");
    let (a, b) = tokio::join!(
        web::serve(front_listener, front, web::shutdown_signal()),
        web::serve(back_listener, back, web::shutdown_signal()),
    );
    a?;
    b?;
    for err in telemetry.shutdown().await {
        eprintln!("telemetry: {err}");
    }
    Ok(())
}

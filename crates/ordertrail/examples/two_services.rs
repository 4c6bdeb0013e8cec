//! Two services, one trace: `front` answers `/greet` by calling `back`'s `/name` with the
//! instrumented client, so both log the same `request_id` and `trace_id`, and `back`'s span is
//! a child of `front`'s client span.
//!
//! Run with
//! ```text
//! cargo run -p ordertrail --example two_services
//! curl -s 127.0.0.1:3000/greet -H 'x-request-id: two-hops-1'
//! ```
//! Both services run in this one process (on 127.0.0.1:3000 and :3001, or `FRONT_ADDR` and
//! `BACK_ADDR`) to keep the example short; each names itself in its layer, so every line says
//! which one wrote it. Deployed, each would be its own binary with its own `TelemetryConfig`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Router, routing::get};
use ordertrail::correlation::CorrelationLayer;
use ordertrail::outgoing::ClientConfig;
use ordertrail::telemetry::{self, TelemetryConfig};
use ordertrail::web;
use reqwest_middleware::ClientWithMiddleware;

/// What `front` needs: the instrumented client and where `back` is.
#[derive(Clone)]
struct Front {
    client: ClientWithMiddleware,
    back: String,
}

/// `front`'s handler: one call to `back`, whose answer it wraps. A failed call is a 502 whose
/// body carries the request id; the log line gets the cause.
async fn greet(State(front): State<Front>) -> Result<String, Response> {
    let url = format!("http://{}/name", front.back);
    let name = async {
        let res = front.client.get(url).send().await?.error_for_status()?;
        Ok::<_, Box<dyn std::error::Error>>(res.text().await?)
    };
    let name = name.await.map_err(|err| {
        let cause = format!("back failed: {err}").into();
        web::error_response(StatusCode::BAD_GATEWAY, "back failed", cause)
    })?;
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
    let addr = |var, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let (front_addr, back_addr) = (
        addr("FRONT_ADDR", "127.0.0.1:3000"),
        addr("BACK_ADDR", "127.0.0.1:3001"),
    );
    let state = Front {
        client: ClientConfig::default().build()?,
        back: back_addr.clone(),
    };

    let front = Router::new()
        .route("/greet", get(greet))
        .with_state(state)
        .layer(CorrelationLayer::new().service("front"));
    let back = Router::new()
        .route("/name", get(name))
        .layer(CorrelationLayer::new().service("back"));

    let (front_listener, back_listener) = (
        tokio::net::TcpListener::bind(&front_addr).await?,
        tokio::net::TcpListener::bind(&back_addr).await?,
    );
    tracing::info!(front = %front_addr, back = %back_addr, "serving");
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

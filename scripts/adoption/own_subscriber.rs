//! The hello of a team with a subscriber of its own: ordertrail's layers composed next to the
//! team's stderr layer, a redaction policy of the team's (API keys), and the guard flushing on
//! drop, with no `shutdown().await`. `scripts/check-adoption.sh` builds it as a fresh crate.
use std::borrow::Cow;

use axum::{Router, routing::get};
use ordertrail::correlation::CorrelationLayer;
use ordertrail::redact::{Both, CardNumbers};
use ordertrail::telemetry::{self, TelemetryConfig};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The team's secrets: anything from `key-` on.
fn api_keys(text: &str) -> Cow<'_, str> {
    match text.find("key-") {
        Some(at) => Cow::Owned(format!("{}[key]", &text[..at])),
        None => Cow::Borrowed(text),
    }
}

async fn hello() -> &'static str {
    let lookup = tracing::info_span!("lookup", auth = "key-SECRET123");
    lookup.in_scope(|| tracing::info!("key checked"));
    tracing::warn!("served from the slow path");
    "hello\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The team's policy after the default one, which masks card numbers.
    let config = TelemetryConfig::from_env("hello", env!("CARGO_PKG_VERSION"))?
        .redact(Both(CardNumbers, api_keys));
    let (layers, guard) = telemetry::layers(&config)?;
    let ours = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    tracing_subscriber::registry()
        .with(layers)
        .with(ours.with_filter(LevelFilter::WARN))
        .init();

    let app = Router::new()
        .route("/hello", get(hello))
        .layer(CorrelationLayer::new());
    let addr = std::env::var("HELLO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    ordertrail::web::serve(listener, app, ordertrail::web::shutdown_signal()).await?;
    drop(guard); // flushes spans, log records and lines
    Ok(())
}

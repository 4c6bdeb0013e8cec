//! The hello of the README on the usual stack: tower-http request ids and TraceLayer, the stock
//! JSON formatter, tracing-opentelemetry with an OTLP exporter, and a reqwest client that
//! injects the trace context by hand. Used by `scripts/check-adoption.sh --measure` only.

use axum::{Router, extract::Request, routing::get};
use http::HeaderName;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

async fn hello(req: Request) -> String {
    // The id is in the request's headers only: code further down has to be handed it.
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    format!("hello, request {id}\n")
}

/// An outgoing call with the id and the trace context, set by hand at every call site.
#[allow(dead_code)]
async fn call(client: &reqwest::Client, url: &str, id: &str) -> reqwest::Result<reqwest::Response> {
    let mut headers = http::HeaderMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(&mut headers))
    });
    client.get(url).headers(headers).header("x-request-id", id).send().await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4317".into());
    let exporter = SpanExporter::builder().with_tonic().with_endpoint(endpoint).build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("hello")
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(true).with_filter(filter()))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("hello")).with_filter(filter()))
        .init();

    let x_request_id = HeaderName::from_static("x-request-id");
    let app = Router::new().route("/hello", get(hello)).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = id)
            }))
            .layer(PropagateRequestIdLayer::new(x_request_id)),
    );
    let _client = reqwest::Client::new();

    let addr = std::env::var("HELLO_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    provider.shutdown()?;
    Ok(())
}

//! The four servers compared, each run in its own process by `overhead --serve <variant>`.
//!
//! All serve the same handler, `GET /hello` -> `"hello"`, on a 2-thread runtime (pinned to one
//! core by the parent). Variants that log write to stdout, which the parent points at a file.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::{HeaderName, Request};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use ordertrail::correlation::CorrelationLayer;
use ordertrail::telemetry::{self, OtlpProtocol, TelemetryConfig};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Which server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// The handler alone: no middleware, no subscriber.
    Bare,
    /// What a Rust team assembles today from stock parts.
    Usual,
    /// ordertrail's full instrumentation, exporting to a live collector.
    Ordertrail,
    /// The same, with the collector refusing connections.
    OrdertrailDown,
}

impl Variant {
    pub(crate) const ALL: [Self; 4] = [
        Self::Bare,
        Self::Usual,
        Self::Ordertrail,
        Self::OrdertrailDown,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare",
            Self::Usual => "usual",
            Self::Ordertrail => "ordertrail",
            Self::OrdertrailDown => "ordertrail-down",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == text)
    }
}

async fn hello() -> &'static str {
    "hello"
}

/// Installs the variant's subscriber and returns its router. The returned guard flushes at exit.
pub(crate) fn setup(variant: Variant, otlp: &str) -> (Router, Box<dyn std::any::Any>) {
    let routes = Router::new().route("/hello", get(hello));
    match variant {
        Variant::Bare => (routes, Box::new(())),
        Variant::Usual => usual(routes, otlp),
        Variant::Ordertrail | Variant::OrdertrailDown => {
            let config =
                TelemetryConfig::new("bench", "0.0.0").otlp_endpoint(otlp, OtlpProtocol::Grpc);
            let guard = telemetry::init(&config).expect("telemetry");
            (
                ordertrail::web::instrument(routes, CorrelationLayer::new().service("bench")),
                Box::new(guard),
            )
        }
    }
}

/// tower-http `SetRequestId` + `PropagateRequestId` (UUID) + `TraceLayer` at INFO; stock JSON
/// formatter with span list to a non-blocking stdout; tracing-opentelemetry with a batch OTLP
/// gRPC exporter.
fn usual(routes: Router, otlp: &str) -> (Router, Box<dyn std::any::Any>) {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(otlp)
        .with_timeout(Duration::from_secs(5))
        .build()
        .expect("exporter");
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("usual"));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(writer)
                .with_filter(EnvFilter::new("info")),
        )
        .with(otel.with_filter(EnvFilter::new(
            "info,h2=off,hyper=off,tonic=off,tower=off,opentelemetry=off",
        )))
        .init();
    let x_request_id = HeaderName::from_static("x-request-id");
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id));
    (routes.layer(layers), Box::new((guard, provider)))
}

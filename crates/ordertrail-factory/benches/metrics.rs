//! The per-request cost of the RED metrics: one traced server span (made, entered, answered,
//! closed, as the request layer does) without and with the metrics layer, which observes the
//! duration histogram with an exemplar (trace id, span id, request id); and one scrape.
//!
//! Run with `cargo bench --bench metrics`.

use criterion::{Criterion, criterion_main};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use ordertrail::metrics::{Format, Metrics, MetricsLayer};
use tracing::field;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;

/// One request's server span, with the fields of the default request span the layer reads.
fn one_request() {
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = "/orders",
        http.response.status_code = field::Empty,
        error.type = field::Empty,
        request.id = "0193a5b2-7c1e-7d3a-9f00-1234567890ab",
    );
    let entered = span.enter();
    span.record("http.response.status_code", 201_i64);
    drop(entered);
}

fn per_request(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder().build();
    let mut group = c.benchmark_group("metrics_per_request");
    let traced = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::with_default(traced, || {
        group.bench_function("baseline_traced_span", |b| b.iter(one_request));
    });
    let metrics = Metrics::new();
    let recorded = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")))
        .with(metrics.layer().with_filter(filter_fn(MetricsLayer::wants)));
    tracing::subscriber::with_default(recorded, || {
        group.bench_function("traced_span_with_metrics_and_exemplar", |b| {
            b.iter(one_request)
        });
    });
    group.finish();
    let text = metrics.encode(Format::OpenMetrics).expect("encodes");
    assert!(
        text.contains(" # {trace_id="),
        "the bench recorded exemplars"
    );
    c.bench_function("metrics_scrape/openmetrics_one_route", |b| {
        b.iter(|| metrics.encode(Format::OpenMetrics))
    });
}

/// What `criterion_group!` would generate, but private: every benchmark, with criterion's
/// command-line configuration.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    per_request(&mut criterion);
}
criterion_main!(benches);

//! Micro-benchmarks of the per-request pieces: validating an inbound id, making a fresh one,
//! and what an outgoing call adds to its headers (`x-request-id`, `traceparent`).
//!
//! Run with `cargo bench --bench micro`.

use criterion::{Criterion, criterion_main};
use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use ordertrail::correlation::{self, MakeRequestId, MakeRequestUuidV7, RequestHead, RequestId};
use ordertrail::propagation;
use tracing_subscriber::layer::SubscriberExt;

fn request_ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_id");
    let inbound = b"0193a5b2-7c1e-7d3a-9f00-1234567890ab";
    group.bench_function("parse_valid_36_bytes", |b| {
        b.iter(|| RequestId::parse(std::hint::black_box(inbound)))
    });
    let hostile = [b'a'; 10 * 1024];
    group.bench_function("refuse_10_kib", |b| {
        b.iter(|| RequestId::parse(std::hint::black_box(&hostile)))
    });
    let request = http::Request::new(());
    let head = RequestHead::of(&request);
    group.bench_function("make_uuid_v7", |b| {
        b.iter(|| MakeRequestUuidV7.make_request_id(&head))
    });
    group.finish();
}

/// The header work of one outgoing call inside a traced request span.
fn outgoing_headers(c: &mut Criterion) {
    propagation::install_propagators();
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("http.client");
        let id: RequestId = "0193a5b2-7c1e-7d3a-9f00-1234567890ab".parse().expect("id");
        runtime.block_on(correlation::scope(id, async {
            c.bench_function("outgoing_headers/request_id_and_traceparent", |b| {
                b.iter(|| {
                    let mut headers = HeaderMap::new();
                    if let Some(id) = correlation::current() {
                        headers.insert("x-request-id", id.to_header_value());
                    }
                    propagation::inject(&span, &mut headers);
                    std::hint::black_box(headers)
                });
            });
            c.bench_function("outgoing_headers/baseline_one_static_header", |b| {
                b.iter(|| {
                    let mut headers = HeaderMap::new();
                    headers.insert("x-request-id", HeaderValue::from_static("fixed"));
                    std::hint::black_box(headers)
                });
            });
        }));
    });
}

/// What `criterion_group!` would generate, but private: every benchmark, with criterion's
/// command-line configuration.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    request_ids(&mut criterion);
    outgoing_headers(&mut criterion);
}
criterion_main!(benches);

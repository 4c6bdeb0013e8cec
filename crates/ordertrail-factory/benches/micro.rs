//! Micro-benchmarks of the per-request pieces: validating an inbound id, making a fresh one,
//! what an outgoing call adds to its headers (`x-request-id`, `traceparent`), and what the
//! redaction of an exported span costs the batch exporter.
//!
//! Run with `cargo bench --bench micro`.

use std::time::SystemTime;

use criterion::{BatchSize, Criterion, criterion_main};
use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanEvents, SpanLinks};
use ordertrail::correlation::{self, MakeRequestId, MakeRequestUuidV7, RequestHead, RequestId};
use ordertrail::propagation;
use ordertrail::telemetry::redact_span;
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

/// A server span as the request layer makes it, with `path` and `user_agent`.
fn server_span(path: &str, user_agent: &str) -> SpanData {
    let attributes = [
        ("http.request.method", "GET"),
        ("http.route", "/orders/{order_id}"),
        ("url.path", path),
        ("url.scheme", "http"),
        ("server.address", "127.0.0.1"),
        ("client.address", "127.0.0.1"),
        ("user_agent.original", user_agent),
        ("network.protocol.version", "1.1"),
        ("request.id", "0193a5b2-7c1e-7d3a-9f00-1234567890ab"),
        ("service", "orders"),
    ];
    let mut attributes: Vec<KeyValue> = attributes
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v.to_owned()))
        .collect();
    attributes.push(KeyValue::new("http.response.status_code", 200_i64));
    SpanData {
        span_context: SpanContext::empty_context(),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: "GET /orders/{order_id}".into(),
        start_time: SystemTime::now(),
        end_time: SystemTime::now(),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("bench").build(),
    }
}

/// `redact_span` on a server span of 11 attributes, without and with a card in its path.
fn span_redaction(c: &mut Criterion) {
    let mut group = c.benchmark_group("redact_span");
    let clean = server_span("/orders/0193a5b2-7c1e-7d3a-9f00-1234567890ab", "curl/8.5.0");
    group.bench_function("server_span_without_secret", |b| {
        b.iter_batched_ref(|| clean.clone(), redact_span, BatchSize::SmallInput)
    });
    let card = server_span("/orders/4242.4242.4242.4242", "pay/4242-4242-4242-4242");
    group.bench_function("server_span_with_two_cards", |b| {
        b.iter_batched_ref(|| card.clone(), redact_span, BatchSize::SmallInput)
    });
    group.finish();
}

/// What `criterion_group!` would generate, but private: every benchmark, with criterion's
/// command-line configuration.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    request_ids(&mut criterion);
    outgoing_headers(&mut criterion);
    span_redaction(&mut criterion);
}
criterion_main!(benches);

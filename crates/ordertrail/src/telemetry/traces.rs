//! The tracer provider: spans, sampled, batched, bounded, redacted, exported over OTLP when
//! configured.

use std::sync::Arc;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use super::counting::ExportCounters;
use super::{SamplerChoice, TelemetryConfig, TelemetryError};

/// A provider that always makes spans (so logs get trace ids and calls carry `traceparent`),
/// and exports them only when an endpoint is configured.
pub(super) fn tracer_provider(
    config: &TelemetryConfig,
    resource: Resource,
    counters: &Arc<ExportCounters>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let builder = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(sampler(config.sampler));
    let Some(endpoint) = &config.traces_endpoint else {
        return Ok(builder.build());
    };
    exporting(builder, config, resource, endpoint, counters)
}

/// The provider exporting to `endpoint` in batches, with counted drops and failures: each span
/// redacted and encoded where it ends, by the library's span processor.
#[cfg(feature = "otlp")]
fn exporting(
    builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    config: &TelemetryConfig,
    resource: Resource,
    endpoint: &str,
    counters: &Arc<ExportCounters>,
) -> Result<SdkTracerProvider, TelemetryError> {
    use super::wire::{Batch, SpanBatch, Spans};
    let sender = super::wire_sender(config, endpoint, super::wire::Signal::Traces)?;
    let batch = Batch::start(Spans, sender, resource, &config.batch, Arc::clone(counters))
        .map_err(TelemetryError::ExportThread)?;
    Ok(builder.with_span_processor(SpanBatch::new(batch)).build())
}

#[cfg(not(feature = "otlp"))]
fn exporting(
    _builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    _config: &TelemetryConfig,
    _resource: Resource,
    _endpoint: &str,
    _counters: &Arc<ExportCounters>,
) -> Result<SdkTracerProvider, TelemetryError> {
    Err(TelemetryError::NoExporter)
}

fn sampler(choice: SamplerChoice) -> Sampler {
    match choice {
        SamplerChoice::AlwaysOn => Sampler::AlwaysOn,
        SamplerChoice::AlwaysOff => Sampler::AlwaysOff,
        SamplerChoice::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
        SamplerChoice::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerChoice::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerChoice::ParentBasedTraceIdRatio(ratio) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
        }
    }
}

#[cfg(all(test, feature = "axum", feature = "otlp"))]
mod tests {
    //! Spans carrying cards in every request input, through the real export path to a real
    //! OTLP receiver; and the batch's promises (bound, counted drops, flush, shutdown).

    use std::sync::Arc;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::Request;
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::trace::v1::Span;
    use tower::ServiceExt;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::correlation::CorrelationLayer;
    use crate::propagation::{InboundTrace, install_propagators};
    use crate::telemetry::wire::receiver::Receiver;
    use crate::telemetry::{BatchSettings, OtlpProtocol};

    /// The digits of each card, and a request carrying one written form of one in each input.
    const CARDS: [&str; 2] = ["4242424242424242", "4000000000000002"];

    fn request_with_cards() -> Request<Body> {
        Request::get("/orders/4242.4242.4242.4242?card=4000%2F0000%2F0000%2F0002")
            .header("host", "4000_0000_0000_0002.example:8080")
            .header("user-agent", "pay/4242+4242+4242+4242")
            .header("x-request-id", "4242:4242:4242:4242")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .header("tracestate", "vendor=card4000000000000002,ok=1")
            .body(Body::empty())
            .unwrap()
    }

    /// A provider exporting to `receiver` over HTTP/protobuf, with `batch`.
    fn provider(
        receiver: &Receiver,
        batch: BatchSettings,
        counters: &Arc<ExportCounters>,
    ) -> SdkTracerProvider {
        let config = TelemetryConfig::new("cards", "1.0.0")
            .otlp_endpoint(&receiver.base, OtlpProtocol::HttpProtobuf)
            .batch(batch);
        let resource = Resource::builder_empty().build();
        tracer_provider(&config, resource, counters).expect("a provider")
    }

    fn text(value: Option<&AnyValue>) -> String {
        match value.and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(text)) => text.clone(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        }
    }

    /// Every string `span` exports, one per value.
    fn exported_strings(span: &Span) -> Vec<String> {
        let mut out = vec![span.name.clone(), span.trace_state.clone()];
        let mut values =
            |kvs: &[KeyValue]| out.extend(kvs.iter().map(|kv| text(kv.value.as_ref())));
        values(&span.attributes);
        span.events.iter().for_each(|e| values(&e.attributes));
        span.links.iter().for_each(|l| values(&l.attributes));
        out.extend(span.events.iter().map(|e| e.name.clone()));
        out.extend(span.links.iter().map(|l| l.trace_state.clone()));
        out.extend(span.status.iter().map(|s| s.message.clone()));
        out
    }

    /// Serves one request with cards under `policy` and returns what was exported.
    async fn export_one(policy: InboundTrace) -> Vec<Span> {
        install_propagators();
        let receiver = Receiver::start();
        let counters = Arc::default();
        let provider = provider(&receiver, BatchSettings::default(), &counters);
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        let _guard = tracing::subscriber::set_default(subscriber);
        let routes = Router::new().route("/orders/{id}", get(|| async { "ok" }));
        let app = crate::web::instrument(routes, CorrelationLayer::new().inbound_trace(policy));
        app.oneshot(request_with_cards()).await.unwrap();
        provider.force_flush().unwrap();
        receiver.spans()
    }

    #[tokio::test]
    async fn no_exported_span_holds_a_card() {
        for policy in [InboundTrace::Trust, InboundTrace::Link] {
            let spans = export_one(policy).await;
            assert!(!spans.is_empty(), "nothing exported");
            for text in spans.iter().flat_map(exported_strings) {
                let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                assert!(
                    !CARDS.iter().any(|c| digits.contains(c)),
                    "{policy:?}: {text}"
                );
            }
            let masked = spans.iter().flat_map(exported_strings);
            let masks = masked.filter(|t| t.contains("[card ••••")).count();
            assert!(
                masks >= 3,
                "{policy:?}: path, host and user agent masked: {spans:#?}"
            );
        }
    }

    /// Ends `count` spans named `name`.
    fn end_spans(provider: &SdkTracerProvider, name: &'static str, count: usize) {
        let tracer = provider.tracer("batch-test");
        (0..count).for_each(|_| drop(tracer.start(name)));
    }

    #[test]
    fn past_the_queue_bound_spans_are_dropped_and_counted() {
        let receiver = Receiver::start();
        let counters = Arc::default();
        let batch = BatchSettings::default()
            .queue_size(2)
            .delay(Duration::from_secs(60));
        let provider = provider(&receiver, batch, &counters);
        end_spans(&provider, "bounded", 5);
        assert_eq!(counters.snapshot().dropped, 3);
        provider.force_flush().expect("flushed");
        assert_eq!(receiver.span_names(), ["bounded", "bounded"]);
        assert_eq!(counters.snapshot().exported, 2);
        // Sent spans make room again.
        end_spans(&provider, "again", 1);
        provider.force_flush().expect("flushed");
        assert_eq!(receiver.span_names().len(), 3);
    }

    #[test]
    fn shutdown_sends_what_is_left() {
        let receiver = Receiver::start();
        let counters = Arc::default();
        let batch = BatchSettings::default().delay(Duration::from_secs(60));
        let provider = provider(&receiver, batch, &counters);
        end_spans(&provider, "left", 3);
        assert!(receiver.span_names().is_empty(), "sent before the delay");
        provider.shutdown().expect("shut down");
        assert_eq!(receiver.span_names(), ["left", "left", "left"]);
        assert_eq!(counters.snapshot().exported, 3);
    }

    #[test]
    fn unsampled_spans_take_no_place_in_the_queue() {
        let receiver = Receiver::start();
        let counters = Arc::default();
        let config = TelemetryConfig::new("cards", "1.0.0")
            .otlp_endpoint(&receiver.base, OtlpProtocol::HttpProtobuf)
            .sampler(SamplerChoice::AlwaysOff);
        let resource = Resource::builder_empty().build();
        let provider = tracer_provider(&config, resource, &counters).expect("a provider");
        end_spans(&provider, "unsampled", 3);
        provider.force_flush().expect("flushed");
        assert!(receiver.span_names().is_empty());
        assert_eq!(counters.snapshot(), Default::default());
    }
}

//! The tracer provider: spans, sampled, batched, bounded, redacted, exported over OTLP when
//! configured.

use std::sync::Arc;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SpanExporter};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use super::counting::{BoundedSpans, CountedSpans, ExportCounters};
use super::redacting::RedactedSpans;
use super::{BatchSettings, SamplerChoice, TelemetryConfig, TelemetryError};

/// A provider that always makes spans (so logs get trace ids and calls carry `traceparent`),
/// and exports them only when an endpoint is configured.
pub(super) fn tracer_provider(
    config: &TelemetryConfig,
    resource: Resource,
    counters: &Arc<ExportCounters>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler(config.sampler));
    let Some(endpoint) = &config.traces_endpoint else {
        return Ok(builder.build());
    };
    exporting(builder, config, endpoint, counters)
}

/// The provider exporting to `endpoint` in batches, with counted drops and failures.
#[cfg(feature = "otlp")]
fn exporting(
    builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    config: &TelemetryConfig,
    endpoint: &str,
    counters: &Arc<ExportCounters>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = span_exporter(config, endpoint)?;
    let processor = export_path(exporter, &config.batch, counters);
    Ok(builder.with_span_processor(processor).build())
}

#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
/// The path every exported span takes to `exporter`: a bounded queue (drops counted), a batch,
/// a count of what is delivered or lost, and the redaction policy on every string.
fn export_path<E: SpanExporter + 'static>(
    exporter: E,
    settings: &BatchSettings,
    counters: &Arc<ExportCounters>,
) -> BoundedSpans<BatchSpanProcessor> {
    let exporter = CountedSpans::new(RedactedSpans::new(exporter), Arc::clone(counters));
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(settings.delay)
        .with_max_queue_size(settings.queue_size)
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    BoundedSpans::new(processor, Arc::clone(counters), settings.queue_size)
}

#[cfg(not(feature = "otlp"))]
fn exporting(
    _builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    _config: &TelemetryConfig,
    _endpoint: &str,
    _counters: &Arc<ExportCounters>,
) -> Result<SdkTracerProvider, TelemetryError> {
    Err(TelemetryError::NoExporter)
}

#[cfg(feature = "otlp")]
fn span_exporter(
    config: &TelemetryConfig,
    endpoint: &str,
) -> Result<super::wire::WireSpans, TelemetryError> {
    super::wire_sender(config, endpoint, super::wire::Signal::Traces)
        .map(super::wire::WireSpans::new)
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

#[cfg(all(test, feature = "axum"))]
mod tests {
    //! Spans carrying cards in every request input, through the real export path.

    use std::sync::{Arc, Mutex, PoisonError};

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::Request;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
    use tower::ServiceExt;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::correlation::CorrelationLayer;
    use crate::propagation::{InboundTrace, install_propagators};

    /// What reached the exporter.
    #[derive(Debug, Clone, Default)]
    struct Exported(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Exported {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            spans.extend(batch);
            Ok(())
        }
    }

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

    /// Every string `span` exports, one per value.
    fn exported_strings(span: &SpanData) -> Vec<String> {
        let mut out = vec![
            span.name.to_string(),
            span.span_context.trace_state().header(),
        ];
        let mut values = |kvs: &[opentelemetry::KeyValue]| {
            out.extend(kvs.iter().map(|kv| kv.value.as_str().into_owned()))
        };
        values(&span.attributes);
        span.events.iter().for_each(|e| values(&e.attributes));
        span.links.iter().for_each(|l| values(&l.attributes));
        out.extend(span.events.iter().map(|e| e.name.to_string()));
        out.extend(
            span.links
                .iter()
                .map(|l| l.span_context.trace_state().header()),
        );
        out
    }

    /// Serves one request with cards under `policy` and returns what was exported.
    async fn export_one(policy: InboundTrace) -> Vec<SpanData> {
        install_propagators();
        let exported = Exported::default();
        let counters = Arc::new(ExportCounters::default());
        let processor = export_path(exported.clone(), &BatchSettings::default(), &counters);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        let routes = Router::new().route("/orders/{id}", get(|| async { "ok" }));
        let app = crate::web::instrument(routes, CorrelationLayer::new().inbound_trace(policy));
        app.oneshot(request_with_cards()).await.unwrap();
        provider.force_flush().unwrap();
        exported.0.lock().unwrap().clone()
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
}

//! The tracer provider: spans, sampled, batched, bounded, exported over OTLP when configured.

use std::sync::Arc;

#[cfg(feature = "otlp")]
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
#[cfg(feature = "otlp")]
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

#[cfg(feature = "otlp")]
use super::OtlpProtocol;
use super::counting::ExportCounters;
#[cfg(feature = "otlp")]
use super::counting::{BoundedSpans, CountedSpans};
use super::{SamplerChoice, TelemetryConfig, TelemetryError};

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
    let exporter = CountedSpans::new(span_exporter(config, endpoint)?, Arc::clone(counters));
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(config.batch.delay)
        .with_max_queue_size(config.batch.queue_size)
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    let bounded = BoundedSpans::new(processor, Arc::clone(counters), config.batch.queue_size);
    Ok(builder.with_span_processor(bounded).build())
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
fn span_exporter(config: &TelemetryConfig, endpoint: &str) -> Result<SpanExporter, TelemetryError> {
    let builder = SpanExporter::builder();
    let exporter = match config.protocol {
        OtlpProtocol::Grpc => builder
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(config.batch.export_timeout)
            .build(),
        OtlpProtocol::HttpProtobuf => builder
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .with_timeout(config.batch.export_timeout)
            .build(),
    };
    exporter.map_err(|source| TelemetryError::Exporter {
        signal: "traces",
        source,
    })
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

//! The meter provider: the [`Metrics`](crate::metrics::Metrics) instruments recorded on an
//! OpenTelemetry meter and exported periodically over OTLP, when a metrics registry and a
//! metrics endpoint are both configured.

use opentelemetry::metrics::MeterProvider as _;
#[cfg(feature = "otlp")]
use opentelemetry_otlp::MetricExporter;
use opentelemetry_sdk::Resource;
#[cfg(feature = "otlp")]
use opentelemetry_sdk::metrics::PeriodicReader;
use opentelemetry_sdk::metrics::SdkMeterProvider;

use super::resource::scope;
use super::{TelemetryConfig, TelemetryError};

/// A provider exporting the configured registry's instruments; `None` without a registry or
/// an endpoint.
pub(super) fn meter_provider(
    config: &TelemetryConfig,
    resource: Resource,
) -> Result<Option<SdkMeterProvider>, TelemetryError> {
    let (Some(metrics), Some(endpoint)) = (&config.metrics, &config.metrics_endpoint) else {
        return Ok(None);
    };
    let provider = exporting(config, resource, endpoint)?;
    metrics.record_to(&provider.meter_with_scope(scope()));
    Ok(Some(provider))
}

#[cfg(feature = "otlp")]
fn exporting(
    config: &TelemetryConfig,
    resource: Resource,
    endpoint: &str,
) -> Result<SdkMeterProvider, TelemetryError> {
    let reader = PeriodicReader::builder(metric_exporter(config, endpoint)?)
        .with_interval(config.metric_export_interval)
        .build();
    Ok(SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader)
        .build())
}

#[cfg(not(feature = "otlp"))]
fn exporting(
    _config: &TelemetryConfig,
    _resource: Resource,
    _endpoint: &str,
) -> Result<SdkMeterProvider, TelemetryError> {
    Err(TelemetryError::NoExporter)
}

/// The SDK's OTLP metric exporter: the configured protocol, `endpoint` and export timeout
/// (it reads `OTEL_EXPORTER_OTLP_HEADERS` itself).
#[cfg(feature = "otlp")]
fn metric_exporter(
    config: &TelemetryConfig,
    endpoint: &str,
) -> Result<MetricExporter, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let timeout = config.batch.export_timeout;
    let exporter = match config.protocol {
        super::OtlpProtocol::Grpc => MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(timeout)
            .build(),
        super::OtlpProtocol::HttpProtobuf => MetricExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .with_timeout(timeout)
            .build(),
    };
    exporter.map_err(|source| TelemetryError::Exporter {
        signal: "metrics",
        source,
    })
}

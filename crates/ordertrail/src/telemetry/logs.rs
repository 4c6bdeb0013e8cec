//! The logger provider: log records batched, bounded and exported over OTLP.

use std::sync::Arc;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
#[cfg(feature = "otlp")]
use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor};

use super::counting::ExportCounters;
#[cfg(feature = "otlp")]
use super::counting::{BoundedLogs, CountedLogs};
use super::{TelemetryConfig, TelemetryError};

/// A provider exporting to the configured logs endpoint; `None` when there is none.
pub(super) fn logger_provider(
    config: &TelemetryConfig,
    resource: Resource,
    counters: &Arc<ExportCounters>,
) -> Result<Option<SdkLoggerProvider>, TelemetryError> {
    let Some(endpoint) = &config.logs_endpoint else {
        return Ok(None);
    };
    exporting(config, resource, endpoint, counters).map(Some)
}

/// The provider exporting to `endpoint` in batches, with counted drops and failures.
#[cfg(feature = "otlp")]
fn exporting(
    config: &TelemetryConfig,
    resource: Resource,
    endpoint: &str,
    counters: &Arc<ExportCounters>,
) -> Result<SdkLoggerProvider, TelemetryError> {
    let exporter = CountedLogs::new(log_exporter(config, endpoint)?, Arc::clone(counters));
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(config.batch.delay)
        .with_max_queue_size(config.batch.queue_size)
        .build();
    let processor = BatchLogProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    let bounded = BoundedLogs::new(processor, Arc::clone(counters), config.batch.queue_size);
    Ok(SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(bounded)
        .build())
}

#[cfg(not(feature = "otlp"))]
fn exporting(
    _config: &TelemetryConfig,
    _resource: Resource,
    _endpoint: &str,
    _counters: &Arc<ExportCounters>,
) -> Result<SdkLoggerProvider, TelemetryError> {
    Err(TelemetryError::NoExporter)
}

#[cfg(feature = "otlp")]
fn log_exporter(
    config: &TelemetryConfig,
    endpoint: &str,
) -> Result<super::wire::WireLogs, TelemetryError> {
    super::wire_sender(config, endpoint, super::wire::Signal::Logs).map(super::wire::WireLogs::new)
}

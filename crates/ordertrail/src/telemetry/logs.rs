//! The export of log records: the library's own batch ([`RecordExport`]), bounded, counted
//! and sent over OTLP, when a logs endpoint is configured.

use std::sync::Arc;

use opentelemetry_sdk::Resource;

use super::counting::ExportCounters;
#[cfg(feature = "otlp")]
pub(crate) use super::wire::RecordExport;
use super::{TelemetryConfig, TelemetryError};

/// The export of the configured logs endpoint; `None` when there is none.
#[cfg(feature = "otlp")]
pub(super) fn record_export(
    config: &TelemetryConfig,
    resource: Resource,
    counters: &Arc<ExportCounters>,
) -> Result<Option<RecordExport>, TelemetryError> {
    let Some(endpoint) = &config.logs_endpoint else {
        return Ok(None);
    };
    let sender = super::wire_sender(config, endpoint, super::wire::Signal::Logs)?;
    let version = super::resource::scope()
        .version()
        .unwrap_or_default()
        .to_owned();
    let kind = super::wire::LogRecords { version };
    RecordExport::start(kind, sender, resource, &config.batch, Arc::clone(counters))
        .map(Some)
        .map_err(TelemetryError::ExportThread)
}

/// Without the `otlp` feature there is no record export: a logs endpoint is an error.
#[cfg(not(feature = "otlp"))]
pub(super) fn record_export(
    config: &TelemetryConfig,
    _resource: Resource,
    _counters: &Arc<ExportCounters>,
) -> Result<Option<RecordExport>, TelemetryError> {
    match config.logs_endpoint {
        Some(_) => Err(TelemetryError::NoExporter),
        None => Ok(None),
    }
}

/// Without the `otlp` feature no value of it exists.
#[cfg(not(feature = "otlp"))]
#[derive(Debug, Clone)]
pub(crate) enum RecordExport {}

#[cfg(not(feature = "otlp"))]
impl RecordExport {
    pub(crate) fn shutdown(
        &self,
        _timeout: std::time::Duration,
    ) -> Result<(), opentelemetry_sdk::error::OTelSdkError> {
        match *self {}
    }
}

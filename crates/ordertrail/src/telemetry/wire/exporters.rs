//! [`WireSpans`] and [`WireLogs`]: the SDK's exporter traits over this module's encoding and
//! transport, behind the SDK's batch processors (bounded queue, batches, ordered shutdown).

use std::time::Duration;

use http::Uri;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::transport::{SendError, Sender};
use super::{logs, spans};

/// Exports span batches as OTLP `ExportTraceServiceRequest`s.
#[derive(Debug)]
pub(crate) struct WireSpans {
    sender: Sender,
    resource: Resource,
}

impl WireSpans {
    pub(crate) fn new(sender: Sender) -> Self {
        Self {
            sender,
            resource: Resource::builder_empty().build(),
        }
    }
}

impl SpanExporter for WireSpans {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let message = spans::export_request(&batch, &self.resource);
        drop(batch);
        let sent = self.sender.send(message);
        let uri = self.sender.uri().clone();
        async move { sent.await.map_err(|err| failure(&uri, err)) }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

/// Exports log record batches as OTLP `ExportLogsServiceRequest`s.
#[derive(Debug)]
pub(crate) struct WireLogs {
    sender: Sender,
    resource: Resource,
}

impl WireLogs {
    pub(crate) fn new(sender: Sender) -> Self {
        Self {
            sender,
            resource: Resource::builder_empty().build(),
        }
    }
}

impl LogExporter for WireLogs {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let message = logs::export_request(&batch, &self.resource);
        let sent = self.sender.send(message);
        let uri = self.sender.uri().clone();
        async move { sent.await.map_err(|err| failure(&uri, err)) }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

fn failure(uri: &Uri, err: SendError) -> OTelSdkError {
    OTelSdkError::InternalFailure(format!("{uri}: {err}"))
}

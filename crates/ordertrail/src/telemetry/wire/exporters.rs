//! [`WireSpans`]: the SDK's span exporter trait over this module's encoding and transport,
//! behind the SDK's batch span processor (bounded queue, batches, ordered shutdown).

use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::spans;
use super::transport::Sender;

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
        self.sender.export(message)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}

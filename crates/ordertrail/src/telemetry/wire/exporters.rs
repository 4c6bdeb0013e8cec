//! [`WireSpans`]: the SDK's span exporter trait over this module's encoding and transport,
//! behind the SDK's batch span processor (bounded queue, batches, ordered shutdown).

use std::time::Duration;

use http::Uri;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::spans;
use super::transport::{SendError, Sender};

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

fn failure(uri: &Uri, err: SendError) -> OTelSdkError {
    OTelSdkError::InternalFailure(format!("{uri}: {err}"))
}

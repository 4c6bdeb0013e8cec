//! [`SpanBatch`]: the span processor that writes each ended span as protobuf on the thread
//! that ended it, into a [`Batch`] grouped by instrumentation scope.
//!
//! The SDK's batch span processor queues each span's `SpanData` (a few hundred bytes with an
//! allocation per attribute) over a channel to its thread, which batches them, hands them to
//! the exporter to encode, and frees them there, far from the thread that allocated them. This
//! one redacts the span, encodes it where it ends, and frees it there; only the bytes cross to
//! the export thread. The promises are the batch processor's: a bounded queue with counted
//! drops, batches by size or delay, a flush, and a shutdown that sends what is left.

use std::time::Duration;

use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::batch::{Batch, Kind};
use super::protobuf::Encoded;
use super::spans::{batch_request, encode_span};
use crate::telemetry::redacting::redact_span;

/// How long [`SpanProcessor::force_flush`] waits for the batch to be sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Spans, grouped by the scope of the tracer that made them.
#[derive(Debug)]
pub(crate) struct Spans;

impl Kind for Spans {
    type Scope = InstrumentationScope;
    const THREAD: &'static str = "ordertrail-spans";

    fn request(&self, resource: &Resource, scopes: &[(InstrumentationScope, Vec<u8>)]) -> Encoded {
        batch_request(resource, scopes)
    }
}

/// The span processor of an exporting tracer provider: see the module docs.
#[derive(Debug)]
pub(crate) struct SpanBatch {
    batch: Batch<Spans>,
}

impl SpanBatch {
    /// The processor feeding `batch`.
    pub(crate) fn new(batch: Batch<Spans>) -> Self {
        Self { batch }
    }
}

impl SpanProcessor for SpanBatch {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, mut span: SpanData) {
        // An unsampled span is recorded for its context only: it takes no place in the queue.
        if !span.span_context.is_sampled() {
            return;
        }
        redact_span(&mut span);
        let scope = &span.instrumentation_scope;
        self.batch
            .push(|s| s == scope, || scope.clone(), |w| encode_span(w, &span));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.batch.flush(FLUSH_TIMEOUT)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.batch.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.batch.set_resource(resource);
    }
}

//! OTLP export of spans and log records, encoded by hand in one pass.
//!
//! The SDK's OTLP exporter turns each batch into generated protobuf structs (one allocation
//! per attribute key and value, a clone of the resource per batch) and then encodes them, and
//! a generated encoder asks every nested message for its length once per level above it. On
//! a `GET /hello` that exports one span and one log record, that path was the largest single
//! cost of the instrumentation. Here the request is written straight into one buffer
//! ([`protobuf::Writer`]), each message's length written once when it closes, and sent with a
//! plain hyper client:
//! - a span from the SDK's `SpanData`, on the thread that ended it, by the library's span
//!   processor ([`SpanBatch`]): the SDK keeps the span itself (sampling, ids, limits), the
//!   span is redacted and written where it ends, and only bytes cross to the export thread;
//! - a log record from the flattened event the log lines are made of, on the thread that
//!   logged it ([`RecordExport`]): no SDK log record is ever built.
//!
//! Both feed a [`Batch`] with the SDK batch processors' promises (bounded queue, counted drops,
//! batch size and delay, flush, ordered shutdown), [`super::counting`]'s counts and its export
//! gate.
//!
//! Metrics are exported by the SDK's OTLP exporter; they are a few requests a minute.
//!
//! # Layout
//! - `protobuf`: the writer (varints, fixed fields, nested messages).
//! - `common`: attributes, values, the scope and the resource.
//! - `spans`: a `Span` from `SpanData`, and `ExportTraceServiceRequest` around them.
//! - `logs`: a `LogRecord` from a flattened event, and `ExportLogsServiceRequest` around them.
//! - `batch`: [`Batch`], items encoded where they end, grouped by scope, and its export thread.
//! - `records`: [`RecordExport`], the log records' batch.
//! - `span_batch`: [`SpanBatch`], the span processor writing into the spans' batch.
//! - `transport`: gRPC or HTTP/protobuf to the collector, on the export thread's runtime.
//! - `retry`: which failures are transient, and the waits before sending again.

mod batch;
mod common;
mod logs;
mod protobuf;
#[cfg(test)]
pub(crate) mod receiver;
mod records;
mod retry;
mod span_batch;
mod spans;
mod transport;

pub(crate) use batch::Batch;
pub(crate) use logs::RecordView;
pub(crate) use records::{LogRecords, RecordExport};
pub(crate) use span_batch::{SpanBatch, Spans};
pub(crate) use transport::{ExportRuntime, Sender, Signal, Target};

//! OTLP export of spans and log records, encoded by hand in one pass.
//!
//! The SDK's OTLP exporter turns each batch into generated protobuf structs (one allocation
//! per attribute key and value, a clone of the resource per batch) and then encodes them, and
//! a generated encoder asks every nested message for its length once per level above it. On
//! a `GET /hello` that exports one span and one log record, that path was the largest single
//! cost of the instrumentation. Here the request is written straight into one buffer
//! ([`protobuf::Writer`]), each message's length written once when it closes, and sent with a
//! plain hyper client:
//! - a span from the SDK's `SpanData`, on the batch span processor's thread: the SDK keeps the
//!   span pipeline (bounded queue, batch size and delay, ordered shutdown), with
//!   [`super::counting`]'s counts and export gate and the redaction of every span around it;
//! - a log record from the flattened event the log lines are made of, on the thread that
//!   logged it, into a batch of the library's own ([`RecordExport`]) with the same promises:
//!   no SDK log record is ever built.
//!
//! Metrics are exported by the SDK's OTLP exporter; they are a few requests a minute.
//!
//! # Layout
//! - `protobuf`: the writer (varints, fixed fields, nested messages).
//! - `common`: attributes, values, the scope and the resource.
//! - `spans`: `ExportTraceServiceRequest` from `SpanData`.
//! - `logs`: a `LogRecord` from a flattened event, and `ExportLogsServiceRequest` around them.
//! - `records`: [`RecordExport`], the log records' batch and its export thread.
//! - `transport`: gRPC or HTTP/protobuf to the collector, on the export thread's runtime.
//! - `retry`: which failures are transient, and the waits before sending again.
//! - `exporters`: the SDK's span exporter trait over the span encoding and the transport.

mod common;
mod exporters;
mod logs;
mod protobuf;
#[cfg(test)]
pub(crate) mod receiver;
mod records;
mod retry;
mod spans;
mod transport;

pub(crate) use exporters::WireSpans;
pub(crate) use logs::RecordView;
pub(crate) use records::RecordExport;
pub(crate) use transport::{ExportRuntime, Sender, Signal, Target};

//! OTLP export of spans and log records, encoded by hand in one pass.
//!
//! The SDK's OTLP exporter turns each batch into generated protobuf structs (one allocation
//! per attribute key and value, a clone of the resource per batch) and then encodes them, and
//! a generated encoder asks every nested message for its length once per level above it. On
//! a `GET /hello` that exports one span and one log record, that path was the largest single
//! cost of the instrumentation. Here the request is written straight from the SDK's
//! `SpanData` and log records into one buffer ([`protobuf::Writer`]), each message's length
//! written once when it closes, and sent with a plain hyper client.
//!
//! What stays the SDK's: the batch processors (bounded queue, batch size and delay, ordered
//! shutdown), [`super::counting`]'s counts and export gate, and the redaction of every span.
//! Metrics are exported by the SDK's OTLP exporter; they are a few requests a minute.
//!
//! # Layout
//! - `protobuf`: the writer (varints, fixed fields, nested messages).
//! - `common`: attributes, values, the scope and the resource.
//! - `spans`, `logs`: `ExportTraceServiceRequest` and `ExportLogsServiceRequest`.
//! - `transport`: gRPC or HTTP/protobuf to the collector, on the export thread's runtime.
//! - `retry`: which failures are transient, and the waits before sending again.
//! - `exporters`: the SDK exporter traits over the two.

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

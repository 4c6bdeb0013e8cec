//! Logs as JSON lines: one event, one line, one object, with the request id at the top level.
//!
//! Why our own layer rather than `tracing_subscriber::fmt().json()`: the stock formatter nests
//! span fields under `span`/`spans` and stores them as pre-rendered JSON text that it parses again
//! for every event. Here span fields are kept as typed values in the span's extensions, and each
//! event is flattened once into a [`FlatRecord`] — top-level `request_id`, `service`, then span
//! fields root to leaf, then the event's own — which the JSON encoder writes with one
//! `write_all` from a reused buffer. The OTLP log bridge reads the same record, so both outputs
//! always agree.
//!
//! # Layout
//! - `value`: [`FieldValue`] and the visitors that record span and event fields.
//! - `record`: [`FlatRecord`], the flattened view of one event.
//! - `json`: [`JsonLayer`], the line encoder.
//! - `json_text`: JSON strings and values, written straight into a line.
//! - `timestamp`: a line's RFC 3339 timestamp, written digit by digit.
//! - `human`: [`HumanLayer`], short lines for a terminal (`--log-format pretty`).
//! - `otlp`: [`OtlpLogLayer`], the same records as OTLP log records.
//! - `line_writer`: [`LineWriter`], a non-blocking writer of whole lines.
//! - `output`: the stdout and file writers, and how dropped lines are reported.
//! - `panic`: a panic hook that logs panics as JSON events instead of raw stderr text.

mod human;
mod json;
mod json_text;
mod line_writer;
#[cfg(feature = "otlp")]
mod otlp;
mod output;
mod panic;
mod record;
mod timestamp;
mod value;

pub use human::{HumanLayer, HumanReplay};
pub use json::{JsonLayer, JsonReplay};
pub(crate) use json::{store_span_fields, update_span_fields};
pub use line_writer::{LineGuard, LineWriter, QUEUE_LINES, STOP_WAIT};
#[cfg(feature = "otlp")]
pub use otlp::{OtlpLogLayer, OtlpReplay};
pub(crate) use output::wait_period;
pub use output::{LogOutputs, OutputError, REPORT_EVERY};
pub use panic::install_panic_hook;
pub(crate) use record::EventMark;
pub use record::{FlatRecord, RESERVED};
pub(crate) use value::EventFields;
pub use value::{FieldValue, Fields, SmolStr, SpanFields};

//! Follow one order: the spans of its request id across every service as a waterfall, each
//! log line under the span it was written in.
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use ordertrail_factory::journey::{LocalFiles, RenderOptions, Sources, TimeWindow, render};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let window = TimeWindow::last(Duration::from_secs(3_600), SystemTime::now());
//! let journey = Sources::local(LocalFiles::new("logs"), window)
//!     .follow("my-order-1")
//!     .await?;
//! print!("{}", render(&journey, RenderOptions::default()));
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `model`: [`SpanRecord`], [`LogRecord`] and [`Evidence`], what every source reads.
//! - `otlp`: lenient OTLP/JSON reading, shared by the local files and Jaeger.
//! - `tree`: [`Journey`], spans as trees per trace with their log lines.
//! - `window`: [`TimeWindow`], the time the HTTP sources search.
//! - `local`: [`LocalFiles`], the files `ordertrail up` writes.
//! - `fetch`: one `GET` to an HTTP source, shared by Jaeger and Loki.
//! - `jaeger`: [`Jaeger`], spans from Jaeger's HTTP API v3.
//! - `loki`: [`Loki`], log lines from Loki's `query_range`.
//! - `sources`: [`Sources`], which source answers what; [`SourceError`].
//! - `layout`: [`Bars`], and the waterfall's columns fitted to a width.
//! - `log_lines`: log lines as text, under their span or apart with their service.
//! - `render`: [`render`] and [`RenderOptions`], the waterfall as text.
//! - `settle`: [`Settled`], whether a journey's spans have all arrived.
//! - `shipped`: [`order_to_shipped_ms`], the order's last hop, from shipping's line.
//! - `json`: [`to_json`], the journey as one JSON document, and its shape.

mod fetch;
mod jaeger;
mod json;
mod layout;
mod local;
mod log_lines;
mod loki;
mod model;
mod otlp;
mod render;
mod settle;
mod shipped;
mod sources;
mod tree;
mod window;

pub use jaeger::{Jaeger, JaegerError, TRACES_PATH};
pub use json::to_json;
pub use layout::Bars;
pub use local::{LocalError, LocalFiles, OTLP_DIR, parse_json_line};
pub use loki::{Loki, LokiError, QUERY_RANGE_PATH, parse_answer};
pub use model::{Evidence, LogRecord, REQUEST_ID_ATTRIBUTE, SpanKind, SpanRecord, SpanStatus};
pub use otlp::{parse_logs, parse_traces};
pub use render::{DEFAULT_WIDTH, RenderOptions, render};
pub use settle::Settled;
pub use shipped::{SHIPPED_MESSAGE, order_to_shipped_ms};
pub use sources::{SourceError, Sources};
pub use tree::{Journey, SpanNode, TraceTree};
pub use window::TimeWindow;

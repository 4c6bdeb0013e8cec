//! The capturing subscriber: `JsonLayer` writing into a shared buffer (the shape of tracing's
//! `MockMakeWriter`), and readers that parse every captured line, or every line of a log file.
//!
//! Tests of one binary run in parallel and write to the same buffer, so every assertion first
//! picks its own lines, by request id or order id.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use ordertrail::logging::{JsonLayer, install_panic_hook};
use serde_json::{Map, Value};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// One parsed log line.
pub type Line = Map<String, Value>;

/// A `MakeWriter` whose writers all append to one shared buffer.
#[derive(Debug, Clone, Default)]
pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl CaptureWriter {
    fn buffer(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CaptureWriter {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static CAPTURE: OnceLock<CaptureWriter> = OnceLock::new();

/// Installs, once per test binary, the global subscriber and the panic hook.
pub fn install() -> &'static CaptureWriter {
    CAPTURE.get_or_init(|| {
        let writer = CaptureWriter::default();
        let layer = JsonLayer::new("test", writer.clone()).with_filter(EnvFilter::new("info"));
        tracing_subscriber::registry().with(layer).init();
        install_panic_hook_keeping_default();
        writer
    })
}

/// Our panic hook, followed by the default one, so a failing assertion still prints its
/// message in the test report.
fn install_panic_hook_keeping_default() {
    let default = std::panic::take_hook();
    install_panic_hook();
    let ours = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ours(info);
        default(info);
    }));
}

/// Every byte captured so far.
pub fn raw_logs() -> Vec<u8> {
    install().buffer().clone()
}

/// Every line captured so far, each asserted to be exactly one JSON object ending in `\n`.
pub fn lines() -> Vec<Line> {
    parse_lines(&raw_logs())
}

/// Parses whole lines; fails the test on anything that is not one JSON object per line.
pub fn parse_lines(raw: &[u8]) -> Vec<Line> {
    assert!(
        raw.is_empty() || raw.ends_with(b"\n"),
        "the log ends in the middle of a line"
    );
    raw.split_inclusive(|&b| b == b'\n')
        .map(parse_line)
        .collect()
}

fn parse_line(bytes: &[u8]) -> Line {
    assert!(
        bytes.ends_with(b"\n"),
        "line without newline: {}",
        String::from_utf8_lossy(bytes)
    );
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(line)) => line,
        other => panic!(
            "not one JSON object ({other:?}): {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Every complete line of the log file at `path` (none if it does not exist yet), parsed; a
/// last line still being written is skipped. Fails the test on a line that is not one JSON
/// object.
pub fn read_json_lines(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |end| &bytes[..=end]);
    parse_lines(complete)
        .into_iter()
        .map(Value::Object)
        .collect()
}

/// Waits (at most 5 s) until a captured line satisfies `matches`; returns all that do.
pub async fn wait_for_line(what: &str, matches: impl Fn(&Line) -> bool) -> Vec<Line> {
    let found = crate::poll(Duration::from_secs(5), Duration::from_millis(10), || {
        let found: Vec<Line> = lines().into_iter().filter(&matches).collect();
        (!found.is_empty()).then_some(found)
    });
    found
        .await
        .unwrap_or_else(|| panic!("no log line for {what} within 5 s"))
}

/// Typed reads of a line's fields.
pub trait LineExt {
    /// The string field `key`, if present and a string.
    fn text(&self, key: &str) -> Option<&str>;

    /// The `message`.
    fn message(&self) -> Option<&str> {
        self.text("message")
    }

    /// The top-level `request_id`.
    fn request_id(&self) -> Option<&str> {
        self.text("request_id")
    }

    /// The `service` that wrote the line.
    fn service(&self) -> Option<&str> {
        self.text("service")
    }

    /// Whether the line is about `order_id`: its `order_id` field, or its `path` or `url`.
    fn mentions_order(&self, order_id: &str) -> bool {
        self.text("order_id") == Some(order_id)
            || ["path", "url"]
                .iter()
                .any(|k| self.text(k).is_some_and(|v| v.contains(order_id)))
    }
}

impl LineExt for Line {
    fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

/// Every string anywhere in `line`: keys and values.
pub fn strings(line: &Line) -> Vec<&str> {
    let mut out = Vec::new();
    for (key, value) in line {
        out.push(key.as_str());
        if let Value::String(s) = value {
            out.push(s.as_str());
        }
    }
    out
}

/// Reads the captured lines in order, each line once, so a long wait parses every byte once.
#[derive(Debug, Default)]
pub struct LogCursor {
    offset: usize,
}

impl LogCursor {
    /// The lines captured since the previous call (all of them on the first).
    pub fn next_lines(&mut self) -> Vec<Line> {
        let fresh = install().buffer()[self.offset..].to_vec();
        self.offset += fresh.len();
        parse_lines(&fresh)
    }
}

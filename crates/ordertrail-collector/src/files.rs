//! [`JsonlFiles`]: the three append-only OTLP/JSON files of an output directory.
//!
//! The format is the OpenTelemetry Collector's `file` exporter's: one export request per line,
//! as OTLP/JSON ([`TRACES_FILE`] holds `ExportTraceServiceRequest`s, [`LOGS_FILE`]
//! `ExportLogsServiceRequest`s, [`METRICS_FILE`] `ExportMetricsServiceRequest`s). Field names are lowerCamelCase, trace and span ids are hex,
//! 64-bit integers and nanosecond timestamps are strings:
//!
//! ```text
//! {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gateway"}}],...},
//!   "scopeSpans":[{"spans":[{"traceId":"5b8aa5a2d2c872e8321cf37308d69df2","name":"GET /orders",...}]}]}]}
//! ```
//!
//! Each line parses back with `serde_json::from_str::<ExportTraceServiceRequest>` (feature
//! `with-serde` of `opentelemetry-proto`, which also writes it). Unlike the Collector, it writes
//! unset messages as `null` and default values (`"traceState":""`, `"kind":0`) in full; OTLP/JSON
//! readers take both as "not set".
//!
//! A line is written with one `write_all` on a file opened in append mode, under a lock, so lines
//! never interleave. Writing is blocking I/O: the caller runs it on the blocking pool.
//!
//! # When the disk is full
//! A line is written whole or not at all. The file's length is taken before the write; if the
//! write fails part-way (`ENOSPC` after some bytes went out), the file is cut back to that
//! length with [`File::set_len`], so no torn line is left to glue itself to the next one. The
//! error goes back to the caller, which refuses the request as retryable; once space returns,
//! the next write simply succeeds.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// File name of the trace requests in the output directory.
pub const TRACES_FILE: &str = "traces.jsonl";
/// File name of the log requests in the output directory.
pub const LOGS_FILE: &str = "otlp-logs.jsonl";
/// File name of the metric requests in the output directory.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// Which of the three files a line goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// `traces.jsonl`.
    Traces,
    /// `otlp-logs.jsonl`.
    Logs,
    /// `metrics.jsonl`.
    Metrics,
}

/// The three open files of an output directory.
#[derive(Debug)]
pub(crate) struct JsonlFiles {
    dir: PathBuf,
    traces: Mutex<File>,
    logs: Mutex<File>,
    metrics: Mutex<File>,
    /// Set by the first failed write, so a full disk gives one warning, not one per request.
    warned: AtomicBool,
}

impl JsonlFiles {
    /// Creates `dir` if needed and opens the files for appending.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            traces: Mutex::new(open_append(&dir.join(TRACES_FILE))?),
            logs: Mutex::new(open_append(&dir.join(LOGS_FILE))?),
            metrics: Mutex::new(open_append(&dir.join(METRICS_FILE))?),
            warned: AtomicBool::new(false),
        })
    }

    /// Appends `line` (without its newline) to the file of `signal`, whole or not at all. A
    /// failure is returned, and reported once as a warning to whatever subscriber there is.
    pub(crate) fn append(&self, signal: Signal, mut line: Vec<u8>) -> io::Result<()> {
        line.push(b'\n');
        let file = match signal {
            Signal::Traces => &self.traces,
            Signal::Logs => &self.logs,
            Signal::Metrics => &self.metrics,
        };
        let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let written = append_whole(&mut file, &line);
        if let Err(error) = &written {
            self.warn_once(error);
        }
        written
    }

    /// Reports a failure to serialize a request, once, like a failed write.
    pub(crate) fn warn_once(&self, error: &dyn std::error::Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                dir = %self.dir.display(),
                error = %error,
                "collector cannot write its OTLP/JSON files; further failures are not reported"
            );
        }
    }
}

/// Appends `line` with one `write_all`; on failure, cuts the file back to its length before,
/// so a half-written line never stays.
pub(crate) fn append_whole(file: &mut File, line: &[u8]) -> io::Result<()> {
    let before = file.metadata()?.len();
    let Err(error) = file.write_all(line) else {
        return Ok(());
    };
    match file.set_len(before) {
        Ok(()) => Err(error),
        Err(cut) => Err(io::Error::new(
            error.kind(),
            format!("{error}; cutting the partial line back also failed: {cut}"),
        )),
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

//! [`LocalFiles`]: the files `ordertrail up` writes, read without any server.
//!
//! - `otlp/traces.jsonl`: the embedded collector's OTLP/JSON spans (in the directory itself
//!   when there is no `otlp/`, as `ordertrail collect --out DIR` writes them). A first pass finds the traces
//!   whose server spans carry the request id; a second takes every span of those traces, since
//!   only server spans carry `request.id`.
//! - `<service>.jsonl`: each service's JSON log lines; a line is taken when its `request_id` is
//!   the id, or its `trace_id` one of those traces.
//! - `otlp/otlp-logs.jsonl`: the same log events as OTLP records, read only when no service file has
//!   a line for the id (a run whose JSON lines went to stdout only).
//!
//! Files are read line by line, and only lines containing the id (or a trace id) as text are
//! parsed, so following one order in a day of load stays quick. A line that does not parse
//! (one still being written) is skipped.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::model::{Evidence, LogRecord, SpanRecord};
use super::otlp;

/// The collector's span file, as `ordertrail_collector` names it.
const TRACES_FILE: &str = ordertrail_collector::TRACES_FILE;
/// The collector's log file.
const LOGS_FILE: &str = ordertrail_collector::LOGS_FILE;
/// Where `ordertrail up` has its collector write, under the log directory: apart from the
/// services' lines, so `grep <id> logs/*.jsonl` finds only those.
pub const OTLP_DIR: &str = "otlp";

/// Reading the local files failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The directory does not exist.
    #[error("no log directory {} (start the services with `ordertrail up`, or pass --log-dir)", .0.display())]
    NoDir(PathBuf),
    /// A file or the directory cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// What was being read.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
}

/// The log directory of `ordertrail up`.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    dir: PathBuf,
}

impl LocalFiles {
    /// Reads `dir` (`logs` by default).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The collector's span file that [`spans`](Self::spans) reads: `otlp/traces.jsonl` in the
    /// directory when `otlp/` exists, else `traces.jsonl` in the directory itself.
    pub fn spans_file(&self) -> PathBuf {
        self.collector_dir().join(TRACES_FILE)
    }

    /// Spans and log lines for `request_id`.
    pub fn collect(&self, request_id: &str) -> Result<Evidence, LocalError> {
        let spans = self.spans(request_id)?;
        let trace_ids = Evidence::trace_ids_of(&spans, request_id);
        let logs = self.logs(request_id, &trace_ids)?;
        Ok(Evidence { spans, logs })
    }

    /// Every span of every trace whose spans carry `request_id`.
    pub fn spans(&self, request_id: &str) -> Result<Vec<SpanRecord>, LocalError> {
        let path = self.otlp_file(TRACES_FILE)?;
        if !path.exists() {
            return Ok(Vec::new());
        }
        let tagged = read_matching(&path, &[request_id], otlp::parse_traces)?;
        let trace_ids = Evidence::trace_ids_of(&tagged, request_id);
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        let needles: Vec<&str> = trace_ids.iter().map(String::as_str).collect();
        let mut spans = read_matching(&path, &needles, otlp::parse_traces)?;
        spans.retain(|s| trace_ids.contains(&s.trace_id));
        Ok(spans)
    }

    /// Log lines for `request_id` or written in one of `trace_ids`: the services' JSON lines,
    /// or the OTLP records when those have none.
    pub fn logs(
        &self,
        request_id: &str,
        trace_ids: &[String],
    ) -> Result<Vec<LogRecord>, LocalError> {
        let dir = self.existing_dir()?;
        let mut needles = vec![request_id];
        needles.extend(trace_ids.iter().map(String::as_str));
        let wanted = |log: &LogRecord| {
            log.request_id.as_deref() == Some(request_id)
                || log.trace_id.as_ref().is_some_and(|t| trace_ids.contains(t))
        };
        let mut logs = Vec::new();
        for path in service_log_files(dir)? {
            logs.extend(read_matching(&path, &needles, parse_json_line)?);
        }
        logs.retain(wanted);
        let otlp_logs = self.otlp_file(LOGS_FILE)?;
        if logs.is_empty() && otlp_logs.exists() {
            logs = read_matching(&otlp_logs, &needles, otlp::parse_logs)?;
            logs.retain(wanted);
        }
        Ok(logs)
    }

    /// The collector's `file`: in `otlp/` when that exists, else in the directory itself.
    fn otlp_file(&self, file: &str) -> Result<PathBuf, LocalError> {
        self.existing_dir()?;
        Ok(self.collector_dir().join(file))
    }

    /// Where the collector writes: `otlp/` when it exists, else the directory itself.
    fn collector_dir(&self) -> PathBuf {
        let nested = self.dir.join(OTLP_DIR);
        if nested.is_dir() {
            nested
        } else {
            self.dir.clone()
        }
    }

    fn existing_dir(&self) -> Result<&Path, LocalError> {
        if self.dir.is_dir() {
            Ok(&self.dir)
        } else {
            Err(LocalError::NoDir(self.dir.clone()))
        }
    }
}

/// `*.jsonl` in `dir` other than the collector's two files, sorted by name.
fn service_log_files(dir: &Path) -> Result<Vec<PathBuf>, LocalError> {
    let read_err = |source| LocalError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".jsonl") && name != TRACES_FILE && name != LOGS_FILE {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Parses each line of `path` that contains one of `needles`, keeping what parses.
fn read_matching<T, E>(
    path: &Path,
    needles: &[&str],
    parse: impl Fn(&str) -> Result<Vec<T>, E>,
) -> Result<Vec<T>, LocalError> {
    let read_err = |source| LocalError::Read {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(read_err)?);
    let mut out = Vec::new();
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line).map_err(read_err)? > 0 {
        let text = String::from_utf8_lossy(&line);
        if needles.iter().any(|n| text.contains(n))
            && let Ok(items) = parse(&text)
        {
            out.extend(items);
        }
        line.clear();
    }
    Ok(out)
}

/// One line of a service's JSON log (see [`ordertrail::logging`]) as a log record.
pub fn parse_json_line(line: &str) -> Result<Vec<LogRecord>, serde_json::Error> {
    let mut fields: Map<String, Value> = serde_json::from_str(line)?;
    let mut take = |key: &str| match fields.remove(key) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    let time_unix_nano = take("timestamp").map_or(0, |t| rfc3339_nanos(&t));
    let level = take("level").unwrap_or_default();
    let message = take("message").unwrap_or_default();
    let service = take("service").unwrap_or_else(|| "unknown".to_owned());
    let request_id = take("request_id");
    let trace_id = take("trace_id");
    let span_id = take("span_id");
    fields.remove("target");
    fields.remove("pid");
    Ok(vec![LogRecord {
        time_unix_nano,
        level,
        service,
        message,
        request_id,
        trace_id,
        span_id,
        fields,
    }])
}

/// Nanoseconds since the epoch of an RFC 3339 time; 0 if it does not parse.
pub(crate) fn rfc3339_nanos(text: &str) -> u64 {
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_keep_their_own_fields() {
        let line = r#"{"timestamp":"2026-11-24T19:14:43.548147Z","level":"INFO","target":"x","message":"order received","service":"orders","pid":1,"request_id":"r","trace_id":"ab","span_id":"cd","sku":"mug-classic","quantity":1}"#;
        let log = parse_json_line(line).unwrap().remove(0);
        assert_eq!(log.service, "orders");
        assert_eq!(log.span_id.as_deref(), Some("cd"));
        assert_eq!(log.time_unix_nano % 1_000_000_000, 548_147_000);
        assert_eq!(
            Value::Object(log.fields),
            serde_json::json!({"sku": "mug-classic", "quantity": 1})
        );
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let err = LocalFiles::new("/nonexistent/ordertrail-logs")
            .collect("r")
            .unwrap_err();
        assert!(matches!(err, LocalError::NoDir(_)));
        assert!(err.to_string().contains("ordertrail up"));
    }

    #[test]
    fn spans_are_read_from_otlp_when_up_made_it() {
        let dir = std::env::temp_dir().join(format!("ordertrail-local-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = LocalFiles::new(&dir);
        assert_eq!(files.spans_file(), dir.join("traces.jsonl"));
        std::fs::create_dir(dir.join(OTLP_DIR)).unwrap();
        assert_eq!(files.spans_file(), dir.join("otlp").join("traces.jsonl"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! [`Loki`]: log lines from Loki's HTTP API.
//!
//! ```text
//! GET /loki/api/v1/query_range?query={service_namespace="ordertrail"} | request_id="<id>"
//!     &start=<ns>&end=<ns>&direction=forward&limit=5000
//! ```
//! answers `{"status":"success","data":{"resultType":"streams","result":[{"stream":{...},
//! "values":[["<ns>","<line>"],...]}]}}`. Lines sent over OTLP arrive with the body as the line
//! and everything else as labels: `service_name` from the resource, and the structured metadata
//! `trace_id`, `span_id`, `severity_text`, `request_id` and the record's other attributes. A
//! line that is itself one of our JSON log lines (shipped from the files) is read as such.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::{Map, Value};

use super::fetch::{excerpt, get_text};
use super::local::parse_json_line;
use super::model::LogRecord;
use super::window::TimeWindow;

/// The path of the range query.
pub const QUERY_RANGE_PATH: &str = "/loki/api/v1/query_range";

/// Most lines asked for; one order writes a few dozen.
const LIMIT: u32 = 5_000;

/// How long one query may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Labels that describe the process or the pipeline, not the line: left out of its fields.
const PROCESS_LABELS: [&str; 8] = [
    "service_",
    "host_",
    "process_",
    "telemetry_",
    "deployment_",
    "os_",
    "container_",
    "k8s_",
];

/// Labels read into the record itself or of no use to a reader.
const CONSUMED_LABELS: [&str; 11] = [
    "trace_id",
    "span_id",
    "request_id",
    "severity_text",
    "severity_number",
    "level",
    "detected_level",
    "observed_timestamp",
    "flags",
    "scope_name",
    "service",
];

/// Querying Loki failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LokiError {
    /// The base URL does not parse.
    #[error("--loki must be an http:// or https:// URL, got {0:?}")]
    Url(String),
    /// The request could not be sent or its answer read.
    #[error("cannot query Loki at {url}")]
    Http {
        /// The query URL.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// Loki answered with an error status.
    #[error("Loki answered {status}: {body}")]
    Status {
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// The answer is not the documented JSON, or not a stream result.
    #[error("Loki's answer is not a streams result: {0}")]
    Body(String),
}

/// A Loki server.
#[derive(Debug, Clone)]
pub struct Loki {
    base: Url,
    selector: String,
    client: reqwest::Client,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: String,
    data: Data,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    #[serde(default)]
    result: Vec<Stream>,
}

#[derive(Debug, serde::Deserialize)]
struct Stream {
    #[serde(default)]
    stream: Map<String, Value>,
    #[serde(default)]
    values: Vec<(String, String)>,
}

impl Loki {
    /// The server at `base` (like `http://localhost:3100`), searching the streams of
    /// `{service_namespace="ordertrail"}`.
    pub fn new(base: &str) -> Result<Self, LokiError> {
        let base = Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| LokiError::Url(base.to_owned()))?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|source| LokiError::Http {
                url: base.to_string(),
                source,
            })?;
        Ok(Self {
            base,
            selector: r#"{service_namespace="ordertrail"}"#.to_owned(),
            client,
        })
    }

    /// Searches the streams of another LogQL stream selector.
    #[must_use]
    pub fn selector(mut self, selector: impl Into<String>) -> Self {
        self.selector = selector.into();
        self
    }

    /// The LogQL query for `request_id`.
    pub fn query(&self, request_id: &str) -> String {
        let quoted = serde_json::Value::from(request_id).to_string();
        format!("{} | request_id={quoted}", self.selector)
    }

    /// The query URL for `request_id` within `window`.
    pub fn query_url(&self, request_id: &str, window: &TimeWindow) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{QUERY_RANGE_PATH}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        let (start, end) = window.unix_nanos();
        url.query_pairs_mut()
            .append_pair("query", &self.query(request_id))
            .append_pair("start", &start.to_string())
            .append_pair("end", &end.to_string())
            .append_pair("direction", "forward")
            .append_pair("limit", &LIMIT.to_string());
        url
    }

    /// The lines for `request_id` within `window`, oldest first.
    pub async fn logs(
        &self,
        request_id: &str,
        window: &TimeWindow,
    ) -> Result<Vec<LogRecord>, LokiError> {
        let url = self.query_url(request_id, window);
        let (status, text) = get_text(&self.client, url.clone())
            .await
            .map_err(|source| LokiError::Http {
                url: url.to_string(),
                source,
            })?;
        if !status.is_success() {
            let body = excerpt(&text);
            return Err(LokiError::Status { status, body });
        }
        parse_answer(&text)
    }
}

/// The log records of a `query_range` answer.
pub fn parse_answer(text: &str) -> Result<Vec<LogRecord>, LokiError> {
    let answer: Answer = serde_json::from_str(text).map_err(|e| LokiError::Body(e.to_string()))?;
    if answer.status != "success" || answer.data.result_type != "streams" {
        return Err(LokiError::Body(format!(
            "status {:?}, resultType {:?}",
            answer.status, answer.data.result_type
        )));
    }
    let mut logs: Vec<LogRecord> = answer
        .data
        .result
        .iter()
        .flat_map(|stream| {
            let labels = &stream.stream;
            stream
                .values
                .iter()
                .map(move |(ns, line)| entry(labels, ns, line))
        })
        .collect();
    logs.sort_by_key(|log| log.time_unix_nano);
    Ok(logs)
}

/// One entry: our JSON line as such, anything else as a message with the stream's labels.
fn entry(labels: &Map<String, Value>, ns: &str, line: &str) -> LogRecord {
    let time_unix_nano = ns.parse().unwrap_or(0);
    if line.trim_start().starts_with('{')
        && let Ok(mut parsed) = parse_json_line(line)
        && let Some(mut log) = parsed.pop()
    {
        if log.time_unix_nano == 0 {
            log.time_unix_nano = time_unix_nano;
        }
        return log;
    }
    let label = |key: &str| labels.get(key).and_then(Value::as_str).map(str::to_owned);
    let level = label("severity_text")
        .or_else(|| label("level"))
        .or_else(|| label("detected_level"))
        .unwrap_or_default();
    LogRecord {
        time_unix_nano,
        level: level.to_ascii_uppercase(),
        service: label("service_name").unwrap_or_else(|| "unknown".to_owned()),
        message: line.to_owned(),
        request_id: label("request_id"),
        trace_id: label("trace_id").map(|t| t.to_ascii_lowercase()),
        span_id: label("span_id").map(|s| s.to_ascii_lowercase()),
        fields: line_fields(labels),
    }
}

fn line_fields(labels: &Map<String, Value>) -> Map<String, Value> {
    labels
        .iter()
        .filter(|(key, _)| {
            !CONSUMED_LABELS.contains(&key.as_str())
                && !PROCESS_LABELS.iter().any(|p| key.starts_with(p))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn the_query_filters_on_the_request_id() {
        let loki = Loki::new("http://loki:3100").unwrap();
        assert_eq!(
            loki.query("r-1"),
            r#"{service_namespace="ordertrail"} | request_id="r-1""#
        );
        let window = TimeWindow::last(Duration::from_secs(1), SystemTime::UNIX_EPOCH);
        let url = loki.query_url("r-1", &window);
        assert_eq!(url.path(), "/loki/api/v1/query_range");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("direction".into(), "forward".into())));
        assert!(pairs.contains(&("end".into(), "60000000000".into())));
    }

    #[test]
    fn other_result_types_are_refused() {
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(matches!(parse_answer(matrix), Err(LokiError::Body(_))));
    }

    #[test]
    fn labels_become_the_record_and_its_fields() {
        let answer = r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"service_name":"orders","service_namespace":"ordertrail","trace_id":"AB","span_id":"cd","severity_text":"info","request_id":"r","order_id":"o-1"},"values":[["20","order received"],["10","first"]]}]}}"#;
        let logs = parse_answer(answer).unwrap();
        assert_eq!(logs[0].message, "first");
        let log = &logs[1];
        assert_eq!(
            (log.service.as_str(), log.level.as_str()),
            ("orders", "INFO")
        );
        assert_eq!(log.trace_id.as_deref(), Some("ab"));
        assert_eq!(
            Value::Object(log.fields.clone()),
            serde_json::json!({"order_id": "o-1"})
        );
    }
}

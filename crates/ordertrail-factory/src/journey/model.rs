//! The raw material of a journey: [`SpanRecord`]s and [`LogRecord`]s as every source reads
//! them, and [`Evidence`], what one source found for one request id.

use serde_json::{Map, Value};

/// The span attribute every server span carries, naming the request id.
pub const REQUEST_ID_ATTRIBUTE: &str = "request.id";

/// What a span stands for, as OTLP's `SpanKind` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// Not set by the exporter.
    Unspecified,
    /// Work inside a process (`place_order`, `dispatch`, a database call).
    Internal,
    /// An incoming request.
    Server,
    /// An outgoing call.
    Client,
    /// A message sent.
    Producer,
    /// A message received.
    Consumer,
}

impl SpanKind {
    /// The kind of OTLP's enum number (`SPAN_KIND_SERVER` is 2).
    pub const fn from_otlp(number: i64) -> Self {
        match number {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    /// The kind of OTLP's enum name (`SPAN_KIND_SERVER`), as some OTLP/JSON writers spell it.
    pub fn from_otlp_name(name: &str) -> Self {
        match name.trim_start_matches("SPAN_KIND_") {
            "INTERNAL" => Self::Internal,
            "SERVER" => Self::Server,
            "CLIENT" => Self::Client,
            "PRODUCER" => Self::Producer,
            "CONSUMER" => Self::Consumer,
            _ => Self::Unspecified,
        }
    }
}

/// A span's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatus {
    /// Nothing said (the usual case for a success).
    Unset,
    /// Explicitly fine.
    Ok,
    /// Failed.
    Error,
}

impl SpanStatus {
    /// The status of OTLP's enum number (`STATUS_CODE_ERROR` is 2).
    pub const fn from_otlp(number: i64) -> Self {
        match number {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    /// The status of OTLP's enum name (`STATUS_CODE_ERROR`).
    pub fn from_otlp_name(name: &str) -> Self {
        match name.trim_start_matches("STATUS_CODE_") {
            "OK" => Self::Ok,
            "ERROR" => Self::Error,
            _ => Self::Unset,
        }
    }
}

/// One span, flattened with the service that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRecord {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// The parent's span id, `None` for a root.
    pub parent_span_id: Option<String>,
    /// `service.name` of the process that made it.
    pub service: String,
    /// The operation: `POST /orders`, `POST`, `dispatch`, `INSERT orders`.
    pub name: String,
    /// Server, client, internal...
    pub kind: SpanKind,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_unix_nano: u64,
    /// The span's status code.
    pub status: SpanStatus,
    /// `http.response.status_code`, on HTTP server and client spans.
    pub http_status: Option<u16>,
    /// The `request.id` attribute (server spans only).
    pub request_id: Option<String>,
}

impl SpanRecord {
    /// Its duration in nanoseconds (0 if the clock went backwards).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// Whether it should stand out: an error status, or an HTTP status other than 2xx.
    pub fn is_flagged(&self) -> bool {
        self.status == SpanStatus::Error
            || self.http_status.is_some_and(|s| !(200..300).contains(&s))
    }
}

/// One log line, from a service's JSON lines, an OTLP log record or a Loki entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// When it was written, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// `INFO`, `WARN`, ...
    pub level: String,
    /// The service that wrote it.
    pub service: String,
    /// The message.
    pub message: String,
    /// The top-level `request_id`, if any.
    pub request_id: Option<String>,
    /// The trace it was written in, if any.
    pub trace_id: Option<String>,
    /// The span it was written in, if any: where the journey places it.
    pub span_id: Option<String>,
    /// Every other field of the line (`status`, `latency_ms`, `order_id`, ...).
    pub fields: Map<String, Value>,
}

/// What a source found for one request id: spans of every trace that carries it, and log
/// lines written for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Every span of the traces found, not only those carrying the id.
    pub spans: Vec<SpanRecord>,
    /// Log lines with the request id, or written in one of the traces found.
    pub logs: Vec<LogRecord>,
}

impl Evidence {
    /// Whether nothing at all was found.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty() && self.logs.is_empty()
    }

    /// The trace ids of the spans that carry `request_id`, each once, in first-seen order.
    pub fn trace_ids_of(spans: &[SpanRecord], request_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for span in spans {
            if span.request_id.as_deref() == Some(request_id) && !ids.contains(&span.trace_id) {
                ids.push(span.trace_id.clone());
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_read_numbers_and_names() {
        assert_eq!(SpanKind::from_otlp(2), SpanKind::Server);
        assert_eq!(
            SpanKind::from_otlp_name("SPAN_KIND_CLIENT"),
            SpanKind::Client
        );
        assert_eq!(SpanKind::from_otlp(9), SpanKind::Unspecified);
        assert_eq!(SpanStatus::from_otlp(2), SpanStatus::Error);
        assert_eq!(SpanStatus::from_otlp_name("STATUS_CODE_OK"), SpanStatus::Ok);
    }

    #[test]
    fn non_2xx_and_errors_are_flagged() {
        let span = |status, http_status| SpanRecord {
            trace_id: "t".into(),
            span_id: "s".into(),
            parent_span_id: None,
            service: "gateway".into(),
            name: "POST /orders".into(),
            kind: SpanKind::Server,
            start_unix_nano: 10,
            end_unix_nano: 5,
            status,
            http_status,
            request_id: None,
        };
        assert!(!span(SpanStatus::Unset, Some(201)).is_flagged());
        assert!(span(SpanStatus::Unset, Some(402)).is_flagged());
        assert!(span(SpanStatus::Error, None).is_flagged());
        assert!(!span(SpanStatus::Unset, None).is_flagged());
        assert_eq!(span(SpanStatus::Unset, None).duration_nanos(), 0);
    }
}

//! [`Jaeger`]: spans from Jaeger's HTTP API v3.
//!
//! ```text
//! GET /api/v3/traces?query.service_name=gateway
//!     &query.attributes={"request.id":"<id>"}
//!     &query.start_time_min=<RFC 3339>&query.start_time_max=<RFC 3339>
//! ```
//! finds the traces in which a gateway span carries the request id, and answers every span of
//! them as OTLP/JSON: `{"result":{"resourceSpans":[...]}}`. Both times are required. When no
//! trace matches, Jaeger answers 404 with `{"error":{"httpCode":404,"message":"No traces found"}}`,
//! which here is an empty result, not an error.

use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::fetch::{excerpt, get_text};
use super::model::{REQUEST_ID_ATTRIBUTE, SpanRecord};
use super::otlp::TracesData;
use super::window::TimeWindow;

/// The path of the trace search.
pub const TRACES_PATH: &str = "/api/v3/traces";

/// How long one query may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Querying Jaeger failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JaegerError {
    /// The base URL does not parse.
    #[error("--jaeger must be an http:// or https:// URL, got {0:?}")]
    Url(String),
    /// The request could not be sent or its answer read.
    #[error("cannot query Jaeger at {url}")]
    Http {
        /// The query URL.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// Jaeger answered with an error status.
    #[error("Jaeger answered {status}: {body}")]
    Status {
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// The answer is not the documented JSON.
    #[error("Jaeger's answer is not OTLP/JSON traces")]
    Body(#[source] serde_json::Error),
}

/// A Jaeger query service.
#[derive(Debug, Clone)]
pub struct Jaeger {
    base: Url,
    service: String,
    client: reqwest::Client,
}

/// The body of a successful search.
#[derive(Debug, serde::Deserialize)]
struct Answer {
    #[serde(default)]
    result: Option<TracesData>,
}

impl Jaeger {
    /// The query service at `base` (like `http://localhost:16686`), searching the gateway's
    /// spans.
    pub fn new(base: &str) -> Result<Self, JaegerError> {
        let base = Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| JaegerError::Url(base.to_owned()))?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|source| JaegerError::Http {
                url: base.to_string(),
                source,
            })?;
        Ok(Self {
            base,
            service: "gateway".to_owned(),
            client,
        })
    }

    /// Searches spans of `service` instead of the gateway's.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// The search URL for `request_id` within `window`.
    pub fn search_url(&self, request_id: &str, window: &TimeWindow) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{TRACES_PATH}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        let attributes = serde_json::json!({ REQUEST_ID_ATTRIBUTE: request_id }).to_string();
        let (start, end) = window.rfc3339();
        url.query_pairs_mut()
            .append_pair("query.service_name", &self.service)
            .append_pair("query.attributes", &attributes)
            .append_pair("query.start_time_min", &start)
            .append_pair("query.start_time_max", &end);
        url
    }

    /// Every span of the traces carrying `request_id` that started within `window`.
    pub async fn spans(
        &self,
        request_id: &str,
        window: &TimeWindow,
    ) -> Result<Vec<SpanRecord>, JaegerError> {
        let url = self.search_url(request_id, window);
        let (status, text) = get_text(&self.client, url.clone())
            .await
            .map_err(|source| JaegerError::Http {
                url: url.to_string(),
                source,
            })?;
        if status == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if !status.is_success() {
            let body = excerpt(&text);
            return Err(JaegerError::Status { status, body });
        }
        let answer: Answer = serde_json::from_str(&text).map_err(JaegerError::Body)?;
        Ok(answer
            .result
            .map(TracesData::into_spans)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn the_search_url_has_every_required_parameter() {
        let jaeger = Jaeger::new("http://jaeger:16686/").unwrap();
        let window = TimeWindow::last(Duration::from_secs(60), SystemTime::UNIX_EPOCH);
        let url = jaeger.search_url("r-1", &window);
        assert_eq!(url.path(), "/api/v3/traces");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("query.service_name"), Some("gateway"));
        assert_eq!(get("query.attributes"), Some(r#"{"request.id":"r-1"}"#));
        assert!(get("query.start_time_min").is_some());
        assert_eq!(get("query.start_time_max"), Some("1970-01-01T00:01:00Z"));
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(matches!(
            Jaeger::new("jaeger:16686"),
            Err(JaegerError::Url(_))
        ));
    }
}

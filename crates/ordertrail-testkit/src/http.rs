//! The test's side of HTTP: a client that cannot hang a test, answers read in full, request
//! ids, and the `traceresponse` header.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

/// The header the request id travels in.
pub const HEADER: &str = "x-request-id";

/// How long one request may take before it fails the test instead of hanging it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for services on loopback: no proxy, at most [`REQUEST_TIMEOUT`] per request.
pub fn client() -> reqwest::Client {
    client_builder(REQUEST_TIMEOUT)
        .build()
        .expect("client builds")
}

/// The builder of [`client`], with `timeout` per request, for a client that needs more.
pub fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder().timeout(timeout).no_proxy()
}

/// One answer, read in full.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// Reads `res` to the end.
    pub async fn read(res: reqwest::Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await.expect("body reads").to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    /// The echoed request id; fails the test when there is none or it is not text.
    pub fn request_id(&self) -> &str {
        let value = self.headers.get(HEADER).expect("response has x-request-id");
        value.to_str().expect("x-request-id is visible ASCII")
    }

    /// The body as JSON; fails the test when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error answer: `status`, and a body that is exactly `{"error": <text>,
    /// "request_id": <the echoed id>}`. Returns the error text.
    pub fn assert_error(&self, status: StatusCode) -> String {
        assert_eq!(
            self.status,
            status,
            "body: {:?}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        let object = body.as_object().expect("error body is an object");
        assert_eq!(
            object.len(),
            2,
            "error body has exactly error and request_id: {body}"
        );
        assert_eq!(
            body["request_id"],
            json!(self.request_id()),
            "body id equals header id"
        );
        body["error"].as_str().expect("error is text").to_owned()
    }
}

/// Sends `request`, with `request_id` in the [`HEADER`] when given, and reads the answer.
pub async fn send(request: reqwest::RequestBuilder, request_id: Option<&str>) -> Reply {
    let request = match request_id {
        Some(id) => request.header(HEADER, id),
        None => request,
    };
    let res = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("no answer: {e}"));
    Reply::read(res).await
}

/// `GET url` with `x-request-id: request_id` and the extra `headers`, read in full.
pub async fn get_with_id(
    client: &reqwest::Client,
    url: &str,
    request_id: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request, Some(request_id)).await
}

/// Asserts that `text` is a UUID v7 in its hyphenated form.
pub fn assert_uuid_v7(text: &str) {
    let uuid =
        uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{text:?} is not a UUID: {e}"));
    assert_eq!(uuid.get_version_num(), 7, "{text} is not a v7 UUID");
    assert_eq!(
        uuid.hyphenated().to_string(),
        text,
        "{text} is not in hyphenated lower case"
    );
}

/// The parts of a `traceparent` or `traceresponse` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// The flags byte, 2 hex digits.
    pub flags: String,
}

impl TraceParent {
    /// Parses `00-<trace id>-<span id>-<flags>`; `None` if it is not that shape.
    pub fn parse(value: &str) -> Option<Self> {
        let parts: Vec<&str> = value.split('-').collect();
        let [version, trace_id, span_id, flags] = parts.as_slice() else {
            return None;
        };
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let shaped = *version == "00" && hex(trace_id, 32) && hex(span_id, 16) && hex(flags, 2);
        shaped.then(|| Self {
            trace_id: (*trace_id).to_owned(),
            span_id: (*span_id).to_owned(),
            flags: (*flags).to_owned(),
        })
    }

    /// The `traceresponse` header of `headers`, parsed; panics if it is missing or malformed.
    pub fn from_response(headers: &HeaderMap) -> Self {
        let value = headers
            .get("traceresponse")
            .expect("the response has a traceresponse header")
            .to_str()
            .expect("traceresponse is ASCII");
        Self::parse(value).unwrap_or_else(|| panic!("malformed traceresponse {value:?}"))
    }
}

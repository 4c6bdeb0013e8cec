//! The test's side of HTTP: a client, placing an order, waiting for dispatch, and reading the
//! `traceresponse` header.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::APPROVED_CARD;

/// A client with a timeout, so a hung service fails the test instead of hanging it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("client builds")
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

/// An order the gateway accepted.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The `x-request-id` of the response.
    pub request_id: String,
    /// The order id of the body.
    pub order_id: String,
    /// The `traceresponse` header.
    pub traceresponse: TraceParent,
}

/// Places an order for one classic mug with the approved card, sending `request_id` when
/// given; asserts 201 and returns what the answer says.
pub async fn place_order(
    client: &reqwest::Client,
    gateway: &str,
    request_id: Option<&str>,
) -> Placed {
    let body = json!({"sku": "mug-classic", "quantity": 1, "card_number": APPROVED_CARD});
    let mut request = client.post(format!("{gateway}/orders")).json(&body);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let reply = request.send().await.expect("POST /orders answers");
    assert_eq!(reply.status(), StatusCode::CREATED, "POST /orders");
    let headers = reply.headers().clone();
    let order: Value = reply.json().await.expect("the order is JSON");
    let header_id = headers
        .get("x-request-id")
        .expect("the response has x-request-id")
        .to_str()
        .expect("x-request-id is ASCII")
        .to_owned();
    if let Some(id) = request_id {
        assert_eq!(header_id, id, "the gateway keeps a valid request id");
    }
    Placed {
        order_id: order["order_id"]
            .as_str()
            .expect("order_id is a string")
            .to_owned(),
        request_id: header_id,
        traceresponse: TraceParent::from_response(&headers),
    }
}

/// Polls `GET /orders/{id}` until the order is `dispatched`; panics after `timeout`.
pub async fn wait_dispatched(
    client: &reqwest::Client,
    gateway: &str,
    order_id: &str,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let reply = client
            .get(format!("{gateway}/orders/{order_id}"))
            .send()
            .await
            .expect("GET /orders/{id} answers");
        if reply.status() == StatusCode::OK {
            last = reply.json().await.expect("the order is JSON");
            if last["status"] == json!("dispatched") {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {order_id} not dispatched within {timeout:?}; last seen {last}");
}

/// `GET url` with `x-request-id: request_id` and the extra `headers`.
pub async fn get_with_id(
    client: &reqwest::Client,
    url: &str,
    request_id: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client.get(url).header("x-request-id", request_id);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url} failed: {e}"))
}

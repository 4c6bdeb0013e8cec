//! The factory's order API from a client's side: the test cards, placing an order, and
//! waiting for its dispatch.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};

use crate::{Reply, TraceParent, send};

/// The approved test card, as a client would type it.
pub const APPROVED_CARD: &str = "4242 4242 4242 4242";

/// The declined test card.
pub const DECLINED_CARD: &str = "4000 0000 0000 0002";

/// An order for `quantity` of `sku`, paid with `card`.
pub fn order_body(sku: &str, quantity: u32, card: &str) -> Value {
    json!({ "sku": sku, "quantity": quantity, "card_number": card })
}

/// `POST {gateway}/orders` with `body`, and `request_id` in the header when given.
pub async fn post_order(
    client: &reqwest::Client,
    gateway: &str,
    body: &Value,
    request_id: Option<&str>,
) -> Reply {
    send(
        client.post(format!("{gateway}/orders")).json(body),
        request_id,
    )
    .await
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
/// given; asserts 201 (and that a given id is kept) and returns what the answer says.
pub async fn place_order(
    client: &reqwest::Client,
    gateway: &str,
    request_id: Option<&str>,
) -> Placed {
    let body = order_body("mug-classic", 1, APPROVED_CARD);
    let reply = post_order(client, gateway, &body, request_id).await;
    assert_eq!(reply.status, StatusCode::CREATED, "POST /orders");
    let order = reply.json();
    if let Some(id) = request_id {
        assert_eq!(
            reply.request_id(),
            id,
            "the gateway keeps a valid request id"
        );
    }
    Placed {
        order_id: order["order_id"]
            .as_str()
            .expect("order_id is a string")
            .to_owned(),
        request_id: reply.request_id().to_owned(),
        traceresponse: TraceParent::from_response(&reply.headers),
    }
}

/// Polls `GET {gateway}/orders/{order_id}` every 50 ms (quoting `request_id` when given) until
/// the order is `dispatched`; panics after `timeout`.
pub async fn wait_dispatched(
    client: &reqwest::Client,
    gateway: &str,
    order_id: &str,
    request_id: Option<&str>,
    timeout: Duration,
) {
    let url = format!("{gateway}/orders/{order_id}");
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let reply = send(client.get(&url), request_id).await;
        if reply.status == StatusCode::OK {
            last = reply.json();
            if last["status"] == json!("dispatched") {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {order_id} not dispatched within {timeout:?}; last seen {last}");
}

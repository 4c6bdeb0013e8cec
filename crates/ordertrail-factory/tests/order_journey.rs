//! One order, followed through all four services: the request id on every log line, on the
//! response header and in the body, through the background dispatch; and the declined path
//! with its compensation.

use std::collections::BTreeSet;

use http::StatusCode;
use ordertrail_testkit::{
    APPROVED_CARD, DECLINED_CARD, Line, LineExt, SERVICES, Services, assert_uuid_v7, lines,
    order_body,
};
use serde_json::json;

const INVALID_ID_WARNING: &str = "replaced an invalid inbound request id";

/// The hops of an order that answer with a completion line: (service, route).
const HOPS: [(&str, &str); 5] = [
    ("gateway", "/orders"),
    ("orders", "/orders"),
    ("inventory", "/reservations/{order_id}"),
    ("payments", "/charges/{order_id}"),
    ("inventory", "/reservations/{order_id}/commit"),
];

/// Places an approved order, checks the answer carries `client_id` (or a fresh UUID v7 when
/// `None`), waits for dispatch, and returns `(request_id, order_id)`.
async fn place_and_dispatch(services: &Services, client_id: Option<&str>) -> (String, String) {
    let reply = services
        .place(&order_body("sticker-pack", 2, APPROVED_CARD), client_id)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let request_id = reply.request_id().to_owned();
    match client_id {
        Some(id) => assert_eq!(request_id, id, "a valid client id is kept"),
        None => assert_uuid_v7(&request_id),
    }
    let order = reply.json();
    assert_eq!(
        order["request_id"],
        json!(request_id),
        "body id equals header id"
    );
    assert_eq!(order["card_last4"], json!("4242"));
    let order_id = order["order_id"]
        .as_str()
        .expect("order_id is text")
        .to_owned();
    services.wait_dispatched(&order_id, &request_id).await;
    (request_id, order_id)
}

/// Asserts what every order journey must show in the log for `request_id` and `order_id`.
fn assert_journey_logged(request_id: &str, order_id: &str) {
    let all = lines();
    let about_order: Vec<&Line> = all.iter().filter(|l| l.mentions_order(order_id)).collect();
    assert!(
        about_order.len() >= 10,
        "too few lines about the order: {about_order:#?}"
    );
    for line in &about_order {
        assert_eq!(
            line.request_id(),
            Some(request_id),
            "line about the order: {line:?}"
        );
    }
    let with_id: Vec<&Line> = all
        .iter()
        .filter(|l| l.request_id() == Some(request_id))
        .collect();
    let services: BTreeSet<&str> = with_id.iter().filter_map(|l| l.service()).collect();
    assert_eq!(
        services,
        BTreeSet::from(SERVICES),
        "services that logged the request"
    );
    assert!(
        with_id
            .iter()
            .all(|l| l.message() != Some(INVALID_ID_WARNING)),
        "a hop refused the id it was sent"
    );
    assert_completions(&with_id, order_id);
    assert_dispatch_logged(&with_id, order_id);
}

/// One completion line for each hop of the order, each with a success status.
fn assert_completions(with_id: &[&Line], order_id: &str) {
    for (service, route) in HOPS {
        let path = route.replace("{order_id}", order_id);
        let found: Vec<_> = with_id
            .iter()
            .filter(|l| l.message() == Some("request completed") && l.service() == Some(service))
            .filter(|l| l.text("route") == Some(route) && l.text("path") == Some(path.as_str()))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "completion of {service} {route}: {found:#?}"
        );
        let status = found[0]["status"].as_u64().expect("status is a number");
        assert!(
            (200..300).contains(&status),
            "{service} {route} answered {status}"
        );
    }
}

/// The dispatch ran after the response, in the `dispatch` span of the orders service, and
/// its call to inventory carried the id.
fn assert_dispatch_logged(with_id: &[&Line], order_id: &str) {
    let dispatched: Vec<_> = with_id
        .iter()
        .filter(|l| l.message() == Some("order dispatched"))
        .collect();
    assert_eq!(dispatched.len(), 1, "{dispatched:#?}");
    assert_eq!(dispatched[0].service(), Some("orders"));
    assert_eq!(dispatched[0].text("order_id"), Some(order_id));
    let commit_url = |l: &&&Line| {
        l.text("url")
            .is_some_and(|u| u.ends_with(&format!("/reservations/{order_id}/commit")))
    };
    let call: Vec<_> = with_id
        .iter()
        .filter(|l| l.message() == Some("outgoing call completed"))
        .filter(commit_url)
        .collect();
    assert_eq!(
        call.len(),
        1,
        "the dispatch's outgoing commit call: {call:#?}"
    );
    assert_eq!(call[0].service(), Some("orders"));
    let committed = with_id
        .iter()
        .filter(|l| l.message() == Some("reservation committed"));
    assert_eq!(
        committed.map(|l| l.service()).collect::<Vec<_>>(),
        [Some("inventory")]
    );
}

#[tokio::test]
async fn one_order_carries_one_request_id_through_all_four_services() {
    let services = Services::start().await;
    let (request_id, order_id) = place_and_dispatch(&services, None).await;
    assert_journey_logged(&request_id, &order_id);
    let stored = services
        .get(&format!("/orders/{order_id}"), None)
        .await
        .json();
    assert_eq!(
        stored["request_id"],
        json!(request_id),
        "the order stores the id it was placed with"
    );
    services.stop().await;
}

#[tokio::test]
async fn a_valid_client_request_id_is_kept_end_to_end() {
    let client_id = "client-abc_123:x/y+z=";
    let services = Services::start().await;
    let (request_id, order_id) = place_and_dispatch(&services, Some(client_id)).await;
    assert_eq!(request_id, client_id);
    assert_journey_logged(client_id, &order_id);
    services.stop().await;
}

#[tokio::test]
async fn a_declined_payment_releases_the_reservation() {
    let services = Services::start().await;
    let before = services.stock("mug-classic").await;
    let reply = services
        .place(
            &order_body("mug-classic", 3, DECLINED_CARD),
            Some("declined-1"),
        )
        .await;
    reply.assert_error(StatusCode::PAYMENT_REQUIRED);
    assert_eq!(reply.request_id(), "declined-1");
    let order_id = order_of("declined-1");
    let order = services
        .get(&format!("/orders/{order_id}"), None)
        .await
        .json();
    assert_eq!(order["status"], json!("declined"));
    assert_eq!(order["request_id"], json!("declined-1"));
    assert_eq!(
        services.stock("mug-classic").await,
        before,
        "stock is back after the release"
    );
    assert_compensation_logged("declined-1", &order_id);
    services.stop().await;
}

/// The order id the orders service logged for `request_id`.
fn order_of(request_id: &str) -> String {
    let all = lines();
    let received = all
        .iter()
        .find(|l| l.request_id() == Some(request_id) && l.message() == Some("order received"))
        .expect("an 'order received' line");
    received
        .text("order_id")
        .expect("it names the order")
        .to_owned()
}

fn assert_compensation_logged(request_id: &str, order_id: &str) {
    let all = lines();
    let with_id: Vec<&Line> = all
        .iter()
        .filter(|l| l.request_id() == Some(request_id))
        .collect();
    let find = |message: &str| -> Vec<&Line> {
        with_id
            .iter()
            .copied()
            .filter(|l| l.message() == Some(message))
            .collect()
    };
    let compensation = find("reservation released (compensation)");
    assert_eq!(compensation.len(), 1, "{with_id:#?}");
    assert_eq!(compensation[0].service(), Some("orders"));
    assert_eq!(compensation[0].text("order_id"), Some(order_id));
    let released = find("reservation released");
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].service(), Some("inventory"));
    let declined = find("charge declined");
    assert_eq!(declined.len(), 1);
    assert_eq!(declined[0]["card_last4"], json!("0002"));
    assert!(
        find("order dispatched").is_empty(),
        "a declined order is not dispatched"
    );
}

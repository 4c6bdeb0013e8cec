//! No card number ever reaches a log line: not from a placed order, a declined one, a parser's
//! error message, a path or a header. Each test ends by scanning everything captured so far
//! by this binary, so the last one to finish has seen every test's lines.

use http::StatusCode;
use ordertrail_testkit::logs::strings;
use ordertrail_testkit::{
    APPROVED_CARD, DECLINED_CARD, LineExt, Services, assert_uuid_v7, lines, order_body, raw_logs,
};
use serde_json::json;

/// Every way the test cards are written in these tests.
const CARD_FORMS: [&str; 8] = [
    "4242424242424242",
    "4242 4242 4242 4242",
    "4242-4242-4242-4242",
    "4242%204242%204242%204242",
    "4000000000000002",
    "4000 0000 0000 0002",
    "4000-0000-0000-0002",
    "4000%200000%200000%200002",
];

/// No card form in the raw bytes, nor in any parsed string of any line.
fn assert_no_card_logged() {
    let raw = raw_logs();
    for card in CARD_FORMS {
        let in_raw = raw.windows(card.len()).any(|w| w == card.as_bytes());
        assert!(!in_raw, "{card} in the raw log");
    }
    for line in lines() {
        for text in strings(&line) {
            assert!(
                !CARD_FORMS.iter().any(|card| text.contains(card)),
                "a card in {line:?}"
            );
        }
    }
}

#[tokio::test]
async fn placed_and_declined_orders_log_no_card_number() {
    let services = Services::start().await;
    let approved = services
        .place(&order_body("tee-logo", 1, APPROVED_CARD), None)
        .await;
    assert_eq!(approved.status, StatusCode::CREATED);
    let order = approved.json();
    assert_eq!(order["card_last4"], json!("4242"));
    let order_id = order["order_id"].as_str().expect("order id");
    services
        .wait_dispatched(order_id, approved.request_id())
        .await;
    let declined = services
        .place(&order_body("tee-logo", 1, "4000-0000-0000-0002"), None)
        .await;
    declined.assert_error(StatusCode::PAYMENT_REQUIRED);
    let spaced = services
        .place(&order_body("tee-logo", 1, DECLINED_CARD), None)
        .await;
    spaced.assert_error(StatusCode::PAYMENT_REQUIRED);
    let last4: Vec<_> = lines()
        .into_iter()
        .filter_map(|l| l.text("card_last4").map(str::to_owned))
        .collect();
    assert!(
        last4.contains(&"4242".to_owned()) && last4.contains(&"0002".to_owned()),
        "{last4:?}"
    );
    assert_no_card_logged();
    services.stop().await;
}

#[tokio::test]
async fn a_card_in_a_rejected_body_is_neither_logged_nor_echoed() {
    let services = Services::start().await;
    let as_number =
        json!({"sku": "sticker-pack", "quantity": 1, "card_number": 4242424242424242_u64});
    let mut as_field_name = order_body("sticker-pack", 1, APPROVED_CARD);
    as_field_name["4000000000000002"] = json!(1);
    for body in [as_number, as_field_name] {
        let reply = services.place(&body, None).await;
        let error = reply.assert_error(StatusCode::BAD_REQUEST);
        assert!(
            !CARD_FORMS.iter().any(|card| error.contains(card)),
            "echoed: {error}"
        );
        assert_completion_logged(reply.request_id(), 400);
    }
    assert_no_card_logged();
    services.stop().await;
}

#[tokio::test]
async fn a_card_in_the_path_is_masked_in_every_line() {
    let services = Services::start().await;
    for (n, path) in [
        "/orders/4242424242424242",
        "/orders/4242-4242-4242-4242",
        "/orders/4242%204242%204242%204242",
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("card-path-{n}");
        let reply = services.get(path, Some(&id)).await;
        reply.assert_error(StatusCode::NOT_FOUND);
        assert_completion_logged(&id, 404);
        let paths: Vec<_> = lines()
            .into_iter()
            .filter(|l| l.request_id() == Some(id.as_str()))
            .filter_map(|l| l.text("path").map(str::to_owned))
            .collect();
        assert!(
            paths.iter().any(|p| p.contains("[card ••••4242]")),
            "{path} logged as {paths:?}"
        );
    }
    assert_no_card_logged();
    services.stop().await;
}

#[tokio::test]
async fn a_card_number_sent_as_request_id_is_replaced() {
    let services = Services::start().await;
    for card in [
        "4242424242424242",
        "4000-0000-0000-0002",
        "order-4242424242424242",
    ] {
        let reply = services.get("/catalog", Some(card)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_uuid_v7(reply.request_id());
        assert_completion_logged(reply.request_id(), 200);
    }
    assert_no_card_logged();
    services.stop().await;
}

/// The gateway logged the completion of `request_id` with `status`.
fn assert_completion_logged(request_id: &str, status: u16) {
    let found = lines().into_iter().any(|l| {
        l.request_id() == Some(request_id)
            && l.service() == Some("gateway")
            && l.message() == Some("request completed")
            && l["status"] == json!(status)
    });
    assert!(
        found,
        "no gateway completion with {status} for {request_id}"
    );
}

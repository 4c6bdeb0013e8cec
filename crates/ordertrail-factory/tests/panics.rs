//! A panicking handler: a 500 JSON answer with the request id, one JSON log line for the
//! panic with that id, and a server that keeps serving.

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use ordertrail::correlation::CorrelationLayer;
use ordertrail_testkit::{LineExt, Served, client, get_with_id, lines};
use serde_json::json;

const PANIC_MESSAGE: &str = "deliberate test panic";

async fn boom() -> &'static str {
    panic!("{PANIC_MESSAGE}")
}

fn app() -> Router {
    ordertrail::web::instrument(
        Router::new().route("/boom", get(boom)),
        CorrelationLayer::new().service("panicky"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_logs_once_and_the_server_keeps_serving() {
    let served = Served::start(app()).await;
    let client = client();
    for id in ["panic-1", "panic-2"] {
        let reply = get_with_id(&client, &format!("{}/boom", served.url), id, &[]).await;
        assert_eq!(reply.request_id(), id);
        assert_eq!(
            reply.assert_error(StatusCode::INTERNAL_SERVER_ERROR),
            "internal error"
        );
        assert_panic_logged(id);
        let health = get_with_id(
            &client,
            &format!("{}/healthz", served.url),
            "after-panic",
            &[],
        )
        .await;
        assert_eq!(
            (health.status, health.body.as_slice()),
            (StatusCode::OK, &b"ok"[..])
        );
    }
    served.stop().await;
}

/// One `a task panicked` line and one 500 completion line, both with `id`.
fn assert_panic_logged(id: &str) {
    let all = lines();
    let with_id: Vec<_> = all.iter().filter(|l| l.request_id() == Some(id)).collect();
    let panics: Vec<_> = with_id
        .iter()
        .filter(|l| l.message() == Some("a task panicked"))
        .collect();
    assert_eq!(panics.len(), 1, "{with_id:#?}");
    assert_eq!(panics[0].text("panic"), Some(PANIC_MESSAGE));
    assert_eq!(panics[0].text("level"), Some("ERROR"));
    assert_eq!(panics[0].service(), Some("panicky"));
    assert!(
        panics[0]
            .text("location")
            .is_some_and(|l| l.contains("tests/panics.rs"))
    );
    let completed: Vec<_> = with_id
        .iter()
        .filter(|l| l.message() == Some("request completed"))
        .collect();
    assert_eq!(completed.len(), 1, "{with_id:#?}");
    assert_eq!(completed[0]["status"], json!(500));
    assert_eq!(completed[0].text("level"), Some("ERROR"));
}

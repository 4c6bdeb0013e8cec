//! `correlation::current()` from handler code: `None` outside a request, and the request's id
//! in work the handler starts with `correlation::spawn`, `correlation::spawn_blocking`, or a
//! plain `tokio::spawn` of a future instrumented with the request span.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ordertrail::correlation::{self, CorrelationLayer, RequestId};
use ordertrail_testkit::{Served, client, get_with_id};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tracing::{Instrument, Span};

fn text(id: Option<RequestId>) -> Value {
    json!(id.map(|id| id.to_string()))
}

/// What each kind of task started by the handler saw as the current id.
async fn carriers() -> Json<Value> {
    let spawned = correlation::spawn(async { correlation::current() }).await;
    let blocking = correlation::spawn_blocking(correlation::current).await;
    let instrumented =
        tokio::spawn(async { correlation::current() }.instrument(Span::current())).await;
    let plain = tokio::spawn(async { correlation::current() }).await;
    // Under a span with no request above it (like the orders dispatch), only the task-local
    // can carry the id.
    let detached = tracing::info_span!(parent: None, "detached");
    let (spawned_detached, blocking_detached) = detached.in_scope(|| {
        let spawned = correlation::spawn(async { correlation::current() });
        (spawned, correlation::spawn_blocking(correlation::current))
    });
    Json(json!({
        "handler": text(correlation::current()),
        "spawn": text(spawned.expect("task ends")),
        "spawn_blocking": text(blocking.expect("task ends")),
        "instrumented": text(instrumented.expect("task ends")),
        "plain_tokio_spawn": text(plain.expect("task ends")),
        "spawn_under_detached_span": text(spawned_detached.await.expect("task ends")),
        "spawn_blocking_under_detached_span": text(blocking_detached.await.expect("task ends")),
    }))
}

/// Shared with a task that outlives its request: when to look, and where to report.
#[derive(Clone)]
struct Later {
    go: Arc<Notify>,
    seen: mpsc::UnboundedSender<Option<RequestId>>,
}

/// Starts a task that reports the current id only when told, after the response has gone.
async fn later(State(later): State<Later>) -> &'static str {
    correlation::spawn(async move {
        later.go.notified().await;
        let _ = later.seen.send(correlation::current());
    });
    "started"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_follows_work_the_handler_spawns() {
    assert_eq!(correlation::current(), None, "no id outside a request");
    let app = ordertrail::web::instrument(
        Router::new().route("/carriers", get(carriers)),
        CorrelationLayer::new().service("context-test"),
    );
    let served = Served::start(app).await;
    let client = client();
    let reply = get_with_id(
        &client,
        &format!("{}/carriers", served.url),
        "ctx-carriers-1",
        &[],
    )
    .await;
    assert_eq!(reply.status, http::StatusCode::OK);
    let expected = json!({
        "handler": "ctx-carriers-1",
        "spawn": "ctx-carriers-1",
        "spawn_blocking": "ctx-carriers-1",
        "instrumented": "ctx-carriers-1",
        "plain_tokio_spawn": null,
        "spawn_under_detached_span": "ctx-carriers-1",
        "spawn_blocking_under_detached_span": "ctx-carriers-1",
    });
    assert_eq!(reply.json(), expected);
    assert_eq!(
        correlation::current(),
        None,
        "the request's id did not leak into the client's task"
    );
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_task_keeps_the_id_after_the_response() {
    let go = Arc::new(Notify::new());
    let (seen, mut reports) = mpsc::unbounded_channel();
    let state = Later {
        go: Arc::clone(&go),
        seen,
    };
    let app = ordertrail::web::instrument(
        Router::new().route("/later", get(later)).with_state(state),
        CorrelationLayer::new().service("context-test"),
    );
    let served = Served::start(app).await;
    let reply = get_with_id(
        &client(),
        &format!("{}/later", served.url),
        "ctx-later-1",
        &[],
    )
    .await;
    assert_eq!(reply.status, http::StatusCode::OK);
    assert!(
        reports.try_recv().is_err(),
        "the task waits for the response to be read"
    );
    go.notify_one();
    let report = tokio::time::timeout(Duration::from_secs(5), reports.recv()).await;
    let seen = report.expect("reported within 5 s").expect("one report");
    assert_eq!(seen.as_ref().map(RequestId::as_str), Some("ctx-later-1"));
    served.stop().await;
}

#[tokio::test]
async fn current_is_none_outside_any_request() {
    assert_eq!(correlation::current(), None);
    assert_eq!(
        tokio::spawn(async { correlation::current() })
            .await
            .expect("task ends"),
        None
    );
    let thread = std::thread::spawn(correlation::current)
        .join()
        .expect("thread ends");
    assert_eq!(thread, None);
    let id: RequestId = "ctx-scoped".parse().expect("valid id");
    let inside = correlation::scope(id.clone(), async { correlation::current() }).await;
    assert_eq!(
        inside,
        Some(id),
        "the check above can see an id when there is one"
    );
    assert_eq!(
        correlation::current(),
        None,
        "and it is gone after the scope"
    );
}

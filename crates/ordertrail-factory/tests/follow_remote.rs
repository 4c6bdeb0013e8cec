//! `ordertrail follow --jaeger URL --loki URL`: the Jaeger and Loki clients against a tiny
//! axum server that answers what their HTTP APIs document — Jaeger API v3's
//! `{"result":{"resourceSpans":[...]}}` (404 `No traces found` for an unknown id) and Loki's
//! `query_range` streams — from samples in `tests/data/`. The server records each query, so
//! the tests also check what was asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ordertrail_factory::journey::{Jaeger, Loki, SpanKind, TimeWindow};
use ordertrail_testkit::binary;
use serde_json::{Value, json};

/// The request id both samples are about.
const KNOWN: &str = "jaeger-order-1";
const TRACE: &str = "5b8aa5a2d2c872e8321cf37308d69df2";
const JAEGER_SAMPLE: &str = include_str!("data/jaeger_find_traces.json");
const LOKI_SAMPLE: &str = include_str!("data/loki_query_range.json");

type Queries = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

/// The fake Jaeger and Loki on one port; the queries they received.
struct Backends {
    url: String,
    queries: Queries,
}

impl Backends {
    async fn start() -> Self {
        let queries = Queries::default();
        let app = Router::new()
            .route("/api/v3/traces", get(jaeger))
            .route("/loki/api/v1/query_range", get(loki))
            .with_state(queries.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake backends");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, queries }
    }

    /// The parameters of every query to `path`.
    fn queries_to(&self, path: &str) -> Vec<HashMap<String, String>> {
        let queries = self.queries.lock().expect("queries");
        queries
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, q)| q.clone())
            .collect()
    }
}

async fn jaeger(State(seen): State<Queries>, Query(q): Query<HashMap<String, String>>) -> Response {
    seen.lock()
        .expect("queries")
        .push(("jaeger".into(), q.clone()));
    let asked: Value = serde_json::from_str(q.get("query.attributes").map_or("{}", String::as_str))
        .unwrap_or(Value::Null);
    if asked == json!({"request.id": KNOWN}) {
        return json_response(StatusCode::OK, JAEGER_SAMPLE);
    }
    let none = r#"{"error":{"httpCode":404,"message":"No traces found"}}"#;
    json_response(StatusCode::NOT_FOUND, none)
}

async fn loki(State(seen): State<Queries>, Query(q): Query<HashMap<String, String>>) -> Response {
    seen.lock()
        .expect("queries")
        .push(("loki".into(), q.clone()));
    let known = format!(r#"{{service_namespace="ordertrail"}} | request_id="{KNOWN}""#);
    if q.get("query") == Some(&known) {
        return json_response(StatusCode::OK, LOKI_SAMPLE);
    }
    let empty = r#"{"status":"success","data":{"resultType":"streams","result":[],"stats":{}}}"#;
    json_response(StatusCode::OK, empty)
}

fn json_response(status: StatusCode, body: &'static str) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

fn window() -> TimeWindow {
    TimeWindow::last(Duration::from_secs(3_600), SystemTime::now())
}

#[tokio::test]
async fn the_jaeger_client_reads_every_span_of_the_trace_and_asks_as_documented() {
    let backends = Backends::start().await;
    let spans = Jaeger::new(&backends.url)
        .expect("url")
        .spans(KNOWN, &window())
        .await
        .expect("Jaeger answers");
    assert_eq!(spans.len(), 11);
    assert!(spans.iter().all(|s| s.trace_id == TRACE));
    let payments = spans
        .iter()
        .find(|s| s.service == "payments")
        .expect("payments");
    assert_eq!(
        (payments.kind, payments.http_status),
        (SpanKind::Server, Some(200))
    );
    assert_eq!(payments.parent_span_id.as_deref(), Some("00000000000000b5"));

    let none = Jaeger::new(&backends.url)
        .expect("url")
        .spans("unknown", &window())
        .await;
    assert_eq!(none.expect("404 is no traces, not an error"), vec![]);

    let asked = &backends.queries_to("jaeger")[0];
    assert_eq!(asked["query.service_name"], "gateway");
    for key in ["query.start_time_min", "query.start_time_max"] {
        assert!(
            humantime::parse_rfc3339(&asked[key]).is_ok(),
            "{key}: {asked:?}"
        );
    }
}

#[tokio::test]
async fn the_loki_client_reads_lines_with_their_labels_oldest_first() {
    let backends = Backends::start().await;
    let logs = Loki::new(&backends.url)
        .expect("url")
        .logs(KNOWN, &window())
        .await
        .expect("Loki answers");
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "order received",
            "charge approved",
            "request completed",
            "order dispatched"
        ]
    );
    let charge = &logs[1];
    assert_eq!(charge.service, "payments");
    assert_eq!(charge.span_id.as_deref(), Some("00000000000000d1"));
    assert_eq!(charge.level, "INFO");
    assert_eq!(
        Value::Object(charge.fields.clone()),
        json!({"amount_cents": "1200", "card_last4": "4242"}),
        "labels of the process and the pipeline are left out"
    );
    let asked = &backends.queries_to("loki")[0];
    assert_eq!(asked["direction"], "forward");
    let (start, end) = (&asked["start"], &asked["end"]);
    let parse = |n: &String| n.parse::<u128>().expect("nanoseconds");
    assert!(parse(start) < parse(end));
    assert!(
        parse(end) > 1_000_000_000_000_000_000,
        "nanoseconds, not seconds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_with_jaeger_and_loki_places_each_line_under_its_span() {
    let backends = Backends::start().await;
    let output = binary!().output(args(&backends, KNOWN, &["--json"])).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    let trace = &doc["traces"][0];
    assert_eq!(trace["trace_id"], json!(TRACE));
    assert_eq!(
        trace["services"],
        json!(["gateway", "orders", "inventory", "payments"])
    );
    let root = &trace["spans"][0];
    assert_eq!(root["name"], json!("POST /orders"));
    assert_eq!(root["logs"][0]["message"], json!("request completed"));
    let orders = &root["children"][0]["children"][0];
    assert_eq!(
        (orders["service"].clone(), orders["kind"].clone()),
        (json!("orders"), json!("server"))
    );
    let place_order = &orders["children"][0];
    assert_eq!(place_order["logs"][0]["message"], json!("order received"));
    let names: Vec<&str> = place_order["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["POST", "POST", "dispatch"],
        "in start order, dispatch last"
    );
    let dispatch = &place_order["children"][2];
    assert_eq!(dispatch["logs"][0]["message"], json!("order dispatched"));
    let commit = &dispatch["children"][0]["children"][0];
    assert_eq!(
        commit["name"],
        json!("POST /reservations/{order_id}/commit")
    );
    assert_eq!(doc["unplaced_logs"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_neither_backend_knows_exits_1_with_a_message() {
    let backends = Backends::start().await;
    let output = binary!()
        .output(args(&backends, "unknown-order", &[]))
        .await;
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("\"unknown-order\""), "{message}");
    assert!(message.contains("Jaeger at"), "{message}");
    assert_eq!(backends.queries_to("loki").len(), 1, "Loki was asked too");
}

fn args(backends: &Backends, request_id: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["follow", request_id, "--jaeger", &backends.url, "--loki"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(backends.url.clone());
    // No local files: everything comes from the two backends.
    args.extend([
        "--log-dir".to_owned(),
        "/nonexistent/ordertrail-logs".to_owned(),
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

//! `ordertrail follow` on a real local run: four service processes of the real binary writing
//! `<dir>/<service>.jsonl`, exporting to an in-test collector writing `<dir>/traces.jsonl`;
//! the real binary then reads that directory. The journey shows all four services in causal
//! order with the right nesting, each log line under its span; declines stand out; a retried
//! id shows both attempts, oldest first; an unknown id exits 1 with a message.

use ordertrail_testkit::{
    DECLINED_CARD, EXPORT_WAIT, LocalRun, Placed, SERVER, SERVICES, TraceParent, binary,
    eventually, order_body, place_order, post_order, wait_until,
};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_shows_one_orders_journey_across_the_four_services() {
    let run = LocalRun::start(&binary!()).await;
    let placed = run.place_dispatched("follow-approved").await;
    wait_for_the_whole_order(&run, &placed).await;

    let doc = follow_json(&run, "follow-approved").await;
    let traces = doc["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 1, "{doc:#}");
    let trace = &traces[0];
    assert_eq!(trace["trace_id"], json!(placed.traceresponse.trace_id));
    assert_eq!(
        trace["services"],
        json!(["gateway", "orders", "inventory", "payments"])
    );
    assert_eq!(doc["unplaced_logs"], json!([]), "every line has its span");

    let roots = trace["spans"].as_array().expect("spans");
    assert_eq!(roots.len(), 1, "one root: {doc:#}");
    let root = &roots[0];
    assert_span(root, "gateway", "server", "POST /orders");
    assert_eq!(root["http_status"], json!(201));
    assert_eq!(root["parent_span_id"], Value::Null);

    let gateway_client = only(root, |s| is(s, "gateway", "client"));
    let orders = only(gateway_client, |s| is(s, "orders", "server"));
    assert_span(orders, "orders", "server", "POST /orders");
    let reserve = only(orders, |s| {
        named(s, "inventory", "POST /reservations/{order_id}")
    });
    let charge = only(orders, |s| named(s, "payments", "POST /charges/{order_id}"));
    let dispatch = only(orders, |s| named(s, "orders", "dispatch"));
    let commit = only(dispatch, |s| {
        named(s, "inventory", "POST /reservations/{order_id}/commit")
    });
    assert!(start(reserve) < start(charge), "reserve, then charge");
    assert!(end(charge) <= start(dispatch), "dispatch after the charge");
    for (parent, child) in [
        (root, gateway_client),
        (gateway_client, orders),
        (dispatch, commit),
    ] {
        assert!(
            start(parent) <= start(child),
            "a child starts after its parent"
        );
    }

    assert_logs_sit_in_their_spans(root);
    assert_logged(orders, "orders", "order received");
    assert_logged(charge, "payments", "charge approved");
    assert_logged(dispatch, "orders", "order dispatched");
    assert_logged(commit, "inventory", "reservation committed");
    for server in [root, orders, reserve, charge, commit] {
        let own: Vec<&str> = messages(server);
        assert!(own.contains(&"request completed"), "{own:?} in {server}");
    }

    let unknown = binary!()
        .output(follow_args(&run, "no-such-order", true))
        .await;
    assert_eq!(unknown.status.code(), Some(1), "unknown id exits 1");
    assert!(unknown.stdout.is_empty());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(message.contains("\"no-such-order\""), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_stand_out_and_a_retried_id_shows_each_attempt_oldest_first() {
    let run = LocalRun::start(&binary!()).await;
    let declined = place_declined(&run, "follow-declined").await;
    let first = place_order(&run.client, &run.gateway(), Some("follow-retry")).await;
    let second = place_order(&run.client, &run.gateway(), Some("follow-retry")).await;
    let traces = [
        &declined.trace_id,
        &first.traceresponse.trace_id,
        &second.traceresponse.trace_id,
    ];
    for trace_id in traces {
        wait_for_server_spans(&run, trace_id).await;
    }

    let doc = follow_json(&run, "follow-declined").await;
    let root = &doc["traces"][0]["spans"][0];
    assert_eq!(
        (root["http_status"].clone(), root["flagged"].clone()),
        (json!(402), json!(true))
    );
    let payments = find_all(root, &|s| is(s, "payments", "server"));
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["flagged"], json!(true));

    let text = binary!()
        .output(follow_args(&run, "follow-declined", false))
        .await;
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    let marked: Vec<&str> = text.lines().filter(|l| l.starts_with('!')).collect();
    assert!(marked.iter().any(|l| l.starts_with("! payments")), "{text}");
    assert!(
        marked.iter().all(|l| l.contains(" 402 ")),
        "only the 402s: {text}"
    );
    assert!(!text.contains('\x1b'), "no colour when not a terminal");

    let doc = follow_json(&run, "follow-retry").await;
    let ids: Vec<&str> = doc["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["trace_id"].as_str().expect("trace id"))
        .collect();
    let expected = [first.traceresponse.trace_id, second.traceresponse.trace_id];
    assert_eq!(ids, expected, "both attempts, oldest first");
}

/// A declined order's request id and trace.
struct Declined {
    trace_id: String,
}

async fn place_declined(run: &LocalRun, request_id: &str) -> Declined {
    let body = order_body("mug-classic", 1, DECLINED_CARD);
    let reply = post_order(&run.client, &run.gateway(), &body, Some(request_id)).await;
    assert_eq!(reply.status, reqwest::StatusCode::PAYMENT_REQUIRED);
    Declined {
        trace_id: TraceParent::from_response(&reply.headers).trace_id,
    }
}

/// Waits until the collector has every service's server spans of the trace, the gateway's
/// last: each process exports on its own, and the collector writes its file before it keeps a
/// span in memory.
async fn wait_for_server_spans(run: &LocalRun, trace_id: &str) {
    wait_until(
        &run.collector.received(),
        "the server spans",
        EXPORT_WAIT,
        |r| {
            let spans = r.spans();
            let servers: Vec<&str> = spans
                .iter()
                .filter(|s| s.trace_id() == trace_id && s.span.kind == SERVER)
                .filter_map(|s| s.service_name())
                .collect();
            SERVICES.iter().all(|name| servers.contains(name))
        },
    )
    .await;
}

/// Waits for the dispatch span (it ends last of the order's) and the dispatch log line.
async fn wait_for_the_whole_order(run: &LocalRun, placed: &Placed) {
    let trace_id = placed.traceresponse.trace_id.clone();
    wait_for_server_spans(run, &trace_id).await;
    wait_until(
        &run.collector.received(),
        "the dispatch span",
        EXPORT_WAIT,
        |r| {
            r.spans()
                .iter()
                .any(|s| s.trace_id() == trace_id && s.span.name == "dispatch")
        },
    )
    .await;
    let orders_log = run.log_file("orders");
    eventually("the dispatch log line", EXPORT_WAIT, || {
        let text = std::fs::read_to_string(&orders_log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|l| l["message"] == json!("order dispatched") && l["trace_id"] == json!(trace_id))
    })
    .await;
}

fn follow_args(run: &LocalRun, request_id: &str, json: bool) -> Vec<String> {
    let mut args = vec![
        "follow".to_owned(),
        request_id.to_owned(),
        "--log-dir".to_owned(),
    ];
    args.push(run.dir.display().to_string());
    if json {
        args.push("--json".to_owned());
    }
    args
}

async fn follow_json(run: &LocalRun, request_id: &str) -> Value {
    let output = binary!().output(follow_args(run, request_id, true)).await;
    assert!(
        output.status.success(),
        "follow {request_id} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("follow --json prints one JSON document")
}

fn is(span: &Value, service: &str, kind: &str) -> bool {
    span["service"] == json!(service) && span["kind"] == json!(kind)
}

fn named(span: &Value, service: &str, name: &str) -> bool {
    span["service"] == json!(service) && span["name"] == json!(name)
}

fn assert_span(span: &Value, service: &str, kind: &str, name: &str) {
    assert!(
        is(span, service, kind) && span["name"] == json!(name),
        "{span:#}"
    );
}

fn children(span: &Value) -> &[Value] {
    span["children"].as_array().map_or(&[], Vec::as_slice)
}

/// Every span under `span` (not itself) that matches.
fn find_all<'a>(span: &'a Value, matches: &dyn Fn(&Value) -> bool) -> Vec<&'a Value> {
    let mut found = Vec::new();
    for child in children(span) {
        if matches(child) {
            found.push(child);
        }
        found.extend(find_all(child, matches));
    }
    found
}

/// The one span under `span` that matches.
fn only(span: &Value, matches: impl Fn(&Value) -> bool) -> &Value {
    let found = find_all(span, &matches);
    assert_eq!(
        found.len(),
        1,
        "exactly one match under {}: {span:#}",
        span["name"]
    );
    found[0]
}

fn start(span: &Value) -> f64 {
    span["start_offset_ms"].as_f64().expect("start offset")
}

fn end(span: &Value) -> f64 {
    start(span) + span["duration_ms"].as_f64().expect("duration")
}

fn messages(span: &Value) -> Vec<&str> {
    let logs = span["logs"].as_array().map_or(&[][..], Vec::as_slice);
    logs.iter().filter_map(|l| l["message"].as_str()).collect()
}

/// `message` was written by `service` in `span` itself or one of its descendants.
fn assert_logged(span: &Value, service: &str, message: &str) {
    let mut spans = vec![span];
    spans.extend(find_all(span, &|_| true));
    let found = spans
        .iter()
        .any(|s| s["service"] == json!(service) && messages(s).contains(&message));
    assert!(found, "{service} logged {message:?} under {}", span["name"]);
}

/// Every log line sits under the span whose id it carries, from the same service.
fn assert_logs_sit_in_their_spans(root: &Value) {
    let mut spans = vec![root];
    spans.extend(find_all(root, &|_| true));
    let mut lines = 0;
    for span in spans {
        for log in span["logs"].as_array().expect("logs") {
            assert_eq!(log["span_id"], span["span_id"], "{log} under {span}");
            assert_eq!(log["service"], span["service"], "{log}");
            lines += 1;
        }
    }
    assert!(lines >= 10, "the order's lines are all there: {lines}");
}

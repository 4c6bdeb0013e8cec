//! `/metrics` of a real service on `127.0.0.1`, recorded by the telemetry's metrics layer from
//! the request and client spans: OpenMetrics with exemplars naming the very span each
//! `traceresponse` names, the classic format without them, route templates instead of paths,
//! client calls with their peer, and a request id too long for the exemplar left out.
//!
//! The test speaks to the service with a plain `reqwest` client, so its own calls add no client
//! series or exemplars of their own.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use ordertrail::correlation::CorrelationLayer;
use ordertrail::metrics::{self, MAX_EXEMPLAR_CHARS, Metrics};
use ordertrail::outgoing::ClientConfig;
use ordertrail::telemetry::{self, TelemetryConfig};
use reqwest_middleware::ClientWithMiddleware;
use tokio::net::TcpListener;

/// What Prometheus 2.x sends when it scrapes.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// One subscriber for the whole test binary, recording into one registry.
fn registry() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let metrics = Metrics::new();
        let config = TelemetryConfig::new("metrics-test", "1.0.0")
            .log_filter("info")
            .metrics(metrics.clone());
        let guard = telemetry::init(&config).expect("telemetry starts");
        // The subscriber lives as long as the test binary; so do its writers.
        std::mem::forget(guard);
        metrics
    })
}

#[derive(Clone)]
struct Peer {
    client: ClientWithMiddleware,
    base: String,
}

async fn item(Path(id): Path<String>) -> String {
    id
}

/// Calls this service's own `/items/7` through the instrumented client.
async fn call(State(peer): State<Peer>) -> String {
    let url = format!("{}/items/7", peer.base);
    let res = peer.client.get(url).send().await.expect("the call");
    res.status().as_str().to_owned()
}

async fn start() -> (SocketAddr, reqwest::Client) {
    let metrics = registry().clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = ClientConfig::default().build().unwrap();
    let peer = Peer {
        client: client.clone(),
        base: format!("http://{addr}"),
    };
    let routes = Router::new()
        .route("/items/{id}", get(item))
        // One route per test: tests run at once, and a bucket keeps the latest exemplar.
        .route("/traced/{id}", get(item))
        .route("/classic/{id}", get(item))
        .route("/long/{id}", get(item))
        .route("/call", get(call))
        .with_state(peer);
    let app = ordertrail::web::instrument(routes, CorrelationLayer::new().service("shop"))
        .merge(metrics::router(metrics));
    tokio::spawn(ordertrail::web::serve(
        listener,
        app,
        std::future::pending(),
    ));
    (addr, reqwest::Client::new())
}

/// `GET path` with `x-request-id: id`: the trace and span id of its `traceresponse`.
async fn request(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    id: &str,
) -> (String, String) {
    let res = client
        .get(format!("http://{addr}{path}"))
        .header("x-request-id", id)
        .send()
        .await
        .unwrap();
    let header = res.headers()["traceresponse"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = header.split('-').collect();
    (parts[1].to_owned(), parts[2].to_owned())
}

async fn scrape(
    client: &reqwest::Client,
    addr: SocketAddr,
    accept: Option<&str>,
) -> (String, String) {
    let mut req = client.get(format!("http://{addr}/metrics"));
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let res = req.send().await.unwrap();
    assert!(res.status().is_success());
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    (content_type, res.text().await.unwrap())
}

/// The exemplar of a sample line, as its label pairs.
fn exemplar(line: &str) -> Option<Vec<(String, String)>> {
    let labels = line.split_once(" # {")?.1.split_once('}')?.0;
    Some(
        labels
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
            .collect(),
    )
}

fn label(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn openmetrics_buckets_carry_the_exemplar_of_the_traced_request() {
    let (addr, client) = start().await;
    let (trace, span) = request(&client, addr, "/traced/a1", "metrics-req-1").await;
    let (content_type, text) = scrape(&client, addr, Some(PROMETHEUS_ACCEPT)).await;
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(text.ends_with("# EOF\n"));
    let line = text
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration_seconds_bucket{"))
        .filter(|l| l.contains(r#"http_route="/traced/{id}""#))
        .find(|l| {
            exemplar(l).is_some_and(|e| label(&e, "request_id").as_deref() == Some("metrics-req-1"))
        })
        .unwrap_or_else(|| panic!("no bucket with the request's exemplar:\n{text}"));
    let pairs = exemplar(line).unwrap();
    assert_eq!(label(&pairs, "trace_id"), Some(trace));
    assert_eq!(label(&pairs, "span_id"), Some(span));
    assert!(line.contains(r#"http_request_method="GET""#), "{line}");
    assert!(
        line.contains(r#"http_response_status_code="200""#),
        "{line}"
    );
}

#[tokio::test]
async fn paths_never_become_labels() {
    let (addr, client) = start().await;
    for id in ["p-one", "p-two", "p-three"] {
        request(&client, addr, &format!("/items/{id}"), id).await;
    }
    request(&client, addr, "/nowhere/secret-path-123", "p-404").await;
    let (_, text) = scrape(&client, addr, Some(PROMETHEUS_ACCEPT)).await;
    for raw in ["p-one", "p-two", "/nowhere", "secret-path-123"] {
        let in_labels = text
            .lines()
            .any(|l| l.split(" # ").next().unwrap_or("").contains(raw));
        assert!(!in_labels, "{raw} is in a label:\n{text}");
    }
    let host_in_labels = text
        .lines()
        .any(|l| l.starts_with("http_server_") && l.contains("server_address"));
    assert!(
        !host_in_labels,
        "the caller's Host header is a label:\n{text}"
    );
    let unmatched = text.lines().any(|l| {
        l.starts_with("http_server_request_duration_seconds_count{")
            && l.contains(r#"http_response_status_code="404""#)
            && !l.contains("http_route=")
    });
    assert!(unmatched, "a 404 counts without a route:\n{text}");
}

#[tokio::test]
async fn the_classic_format_has_no_exemplars() {
    let (addr, client) = start().await;
    request(&client, addr, "/classic/c1", "classic-1").await;
    let (content_type, text) = scrape(&client, addr, None).await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(
        text.contains("http_server_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        !text.contains(" # {"),
        "an exemplar in the classic format:\n{text}"
    );
    assert!(!text.contains("# EOF"));
}

#[tokio::test]
async fn client_calls_are_recorded_with_their_peer() {
    let (addr, client) = start().await;
    request(&client, addr, "/call", "client-1").await;
    let (_, text) = scrape(&client, addr, Some(PROMETHEUS_ACCEPT)).await;
    let port = addr.port().to_string();
    let call = text.lines().find(|l| {
        l.starts_with("http_client_request_duration_seconds_count{")
            && l.contains(r#"server_address="127.0.0.1""#)
            && l.contains(&format!(r#"server_port="{port}""#))
            && l.contains(r#"http_response_status_code="200""#)
    });
    assert!(call.is_some(), "no client series for the call:\n{text}");
    let with_request = text
        .lines()
        .filter(|l| l.starts_with("http_client_request_duration_seconds_bucket{"))
        .any(|l| {
            exemplar(l).is_some_and(|e| label(&e, "request_id").as_deref() == Some("client-1"))
        });
    assert!(
        with_request,
        "the call's exemplar names the request it was made for:\n{text}"
    );
}

#[tokio::test]
async fn a_request_id_too_long_for_the_exemplar_is_left_out() {
    let (addr, client) = start().await;
    let long = format!("long-{}", "x".repeat(70));
    let (trace, _) = request(&client, addr, "/long/l1", &long).await;
    let (_, text) = scrape(&client, addr, Some(PROMETHEUS_ACCEPT)).await;
    let pairs = text
        .lines()
        .filter_map(exemplar)
        .find(|e| label(e, "trace_id").as_deref() == Some(trace.as_str()))
        .unwrap_or_else(|| panic!("no exemplar of trace {trace}:\n{text}"));
    assert_eq!(label(&pairs, "request_id"), None);
    let chars: usize = pairs
        .iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum();
    assert!(chars <= MAX_EXEMPLAR_CHARS);
}

//! The gateway's inbound trace policy, against the real binary: a caller's `traceparent` is
//! continued (`trust`), linked from a new trace (`link`, the default) or dropped (`ignore`),
//! set by `--inbound-trace` or `ORDERTRAIL_INBOUND_TRACE`. Inside, inventory always continues
//! the gateway's trace.

use ordertrail_collector::hex_id;
use ordertrail_testkit::{
    CLIENT, EXPORT_WAIT, ReceivedSpan, SpanIndex, Stack, StackConfig, TraceParent, binary,
    get_with_id, server_span, start_collector, wait_until,
};
use reqwest::StatusCode;

/// The caller's trace and span (the examples of the W3C Trace Context specification).
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Continued,
    Linked,
    Dropped,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_continues_the_callers_trace() {
    let config = |c: StackConfig| c.gateway_args(&["--inbound-trace", "trust"]);
    check("trust", config, Expect::Continued).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_starts_a_new_trace_linked_to_the_callers() {
    let config = |c: StackConfig| c.gateway_args(&["--inbound-trace", "link"]);
    check("link", config, Expect::Linked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_from_the_environment_keeps_nothing_of_the_callers_trace() {
    let config = |c: StackConfig| c.gateway_env("ORDERTRAIL_INBOUND_TRACE", "ignore");
    check("ignore", config, Expect::Dropped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_gateway_links() {
    check("default", |c| c, Expect::Linked).await;
}

/// Sends `GET /catalog` with the caller's `traceparent` to a gateway configured by `configure`,
/// and checks its server span as `expect` says.
async fn check(mode: &str, configure: impl FnOnce(StackConfig) -> StackConfig, expect: Expect) {
    let collector = start_collector().await;
    let stack = Stack::start(
        &binary!(),
        &configure(StackConfig::new(collector.grpc_endpoint())),
    )
    .await;
    let request_id = format!("inbound-{mode}-{}", uuid::Uuid::new_v4());
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let url = format!("{}/catalog", stack.gateway());
    let reply = get_with_id(
        &stack.client,
        &url,
        &request_id,
        &[("traceparent", &traceparent)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let traceresponse = TraceParent::from_response(&reply.headers);

    let received = collector.received();
    let both = |spans: &[ReceivedSpan]| {
        server_span(spans, "gateway", &request_id, "GET /catalog").is_some()
            && server_span(spans, "inventory", &request_id, "GET /catalog").is_some()
    };
    wait_until(
        &received,
        "the gateway and inventory spans",
        EXPORT_WAIT,
        |r| both(&r.spans()),
    )
    .await;
    let spans = received.spans();
    let gateway =
        server_span(&spans, "gateway", &request_id, "GET /catalog").expect("found before");
    let inventory =
        server_span(&spans, "inventory", &request_id, "GET /catalog").expect("found before");

    assert_eq!(
        traceresponse.trace_id,
        gateway.trace_id(),
        "traceresponse names the gateway's trace"
    );
    assert_eq!(
        traceresponse.span_id,
        gateway.span_id(),
        "and its server span"
    );
    assert_inventory_continues(&spans, gateway, inventory);
    let links: Vec<(String, String)> = gateway
        .span
        .links
        .iter()
        .map(|l| (hex_id(&l.trace_id), hex_id(&l.span_id)))
        .collect();
    let caller = (CALLER_TRACE.to_owned(), CALLER_SPAN.to_owned());
    match expect {
        Expect::Continued => {
            assert_eq!(
                gateway.trace_id(),
                CALLER_TRACE,
                "{mode}: the caller's trace"
            );
            assert_eq!(
                gateway.parent_span_id().as_deref(),
                Some(CALLER_SPAN),
                "{mode}: the caller's span is the parent"
            );
            assert_eq!(links, [], "{mode}: no link");
        }
        Expect::Linked => {
            assert_ne!(gateway.trace_id(), CALLER_TRACE, "{mode}: a new trace");
            assert_eq!(gateway.parent_span_id(), None, "{mode}: a root span");
            assert_eq!(links, [caller], "{mode}: one link, to the caller's span");
        }
        Expect::Dropped => {
            assert_ne!(gateway.trace_id(), CALLER_TRACE, "{mode}: a new trace");
            assert_eq!(gateway.parent_span_id(), None, "{mode}: a root span");
            assert_eq!(links, [], "{mode}: no link");
        }
    }
    collector.shutdown().await.expect("collector stops");
}

/// Inventory's server span is in the gateway's trace, called by a gateway client span.
fn assert_inventory_continues(
    spans: &[ReceivedSpan],
    gateway: &ReceivedSpan,
    inventory: &ReceivedSpan,
) {
    assert_eq!(
        inventory.trace_id(),
        gateway.trace_id(),
        "inventory continues the gateway's trace"
    );
    let index = SpanIndex::new(spans);
    let client = index
        .parent(inventory)
        .expect("inventory's parent was received");
    assert_eq!(
        client.span.kind, CLIENT,
        "inventory's parent is a client span"
    );
    assert_eq!(client.service_name(), Some("gateway"));
    assert!(
        index.descends_from(client, gateway),
        "the call to inventory is inside the gateway span"
    );
}

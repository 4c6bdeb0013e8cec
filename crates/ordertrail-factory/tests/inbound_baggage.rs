//! A malformed `baggage` header costs at most one log line per request, against the real
//! binary: the gateway (`link`, the default) does not read it at all; an internal service
//! (`trust`) writes one warning in the request, with its request id, the header's length and the
//! reason, never the header itself.

use ordertrail_testkit::{Stack, StackConfig, binary, get_with_id, start_collector};
use serde_json::{Value, json};

/// 7.7 KB: 64 entries without `=`, each naming a secret.
fn malformed_baggage() -> String {
    vec![format!("SECRET{}", "x".repeat(113)); 64].join(",")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_baggage_is_at_most_one_warning_per_request() {
    let collector = start_collector().await;
    let mut stack = Stack::start(&binary!(), &StackConfig::new(collector.grpc_endpoint())).await;
    let baggage = malformed_baggage();
    for service in ["gateway", "orders"] {
        let url = format!("{}/healthz", stack.child(service).url());
        let id = format!("baggage-{service}");
        get_with_id(&stack.client, &url, &id, &[("baggage", &baggage)]).await;
    }
    stack.terminate(std::time::Duration::from_secs(10)).await;

    let gateway = stack.json_lines("gateway");
    assert!(warnings(&gateway).is_empty(), "{:#?}", warnings(&gateway));
    let orders = stack.json_lines("orders");
    let [warning] = &warnings(&orders)[..] else {
        panic!("expected one warning: {:#?}", warnings(&orders));
    };
    assert_eq!(warning["request_id"], json!("baggage-orders"));
    assert_eq!(warning["baggage_len"], json!(baggage.len()));
    assert_eq!(warning["baggage_refused"], json!("entry 0 is malformed"));
    for line in gateway.iter().chain(&orders) {
        assert!(!line.to_string().contains("SECRET"), "{line}");
    }
}

/// The WARN and ERROR lines of `lines`.
fn warnings(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|l| matches!(l["level"].as_str(), Some("WARN" | "ERROR")))
        .collect()
}

//! `ordertrail load` (the real binary) against running services: the summary's counts add up
//! and agree with what the gateway logged, the slowest orders are real request ids with the
//! command to follow them, and a run with a rate and a duration stops on time.

use std::collections::HashMap;
use std::time::Duration;

use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use ordertrail_testkit::{Stack, StackConfig, binary, eventually, free_port, start_collector};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_orders_add_up_and_the_slowest_are_real_request_ids() {
    let collector = start_collector().await;
    let stack = Stack::start(&binary!(), &StackConfig::new(collector.grpc_endpoint())).await;
    let args = ["load", "--orders", "50", "--json", "--decline-rate", "0.3"];
    let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    args.extend(["--gateway".to_owned(), stack.gateway()]);
    let output = binary!().output(args).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");

    assert_eq!(
        (summary["orders"].clone(), summary["answered"].clone()),
        (json!(50), json!(50))
    );
    let count = |status: &str| summary["statuses"][status].as_u64().unwrap_or(0);
    assert_eq!(count("201") + count("402"), 50, "{summary:#}");
    assert!(count("402") > 0 && count("201") > 0, "{summary:#}");
    let latency = &summary["latency_ms"];
    let at = |key: &str| latency[key].as_f64().expect("a latency");
    assert!(0.0 < at("p50") && at("p50") <= at("p90") && at("p90") <= at("p99"));
    assert!(at("p99") <= at("max") * 1.001, "{latency}");

    // What the gateway itself answered, by request id.
    let answered = || -> HashMap<String, u64> {
        let lines = stack.json_lines("gateway");
        let orders = lines.iter().filter(|l| {
            l["message"] == json!("request completed") && l["route"] == json!("/orders")
        });
        orders
            .filter_map(|l| Some((l["request_id"].as_str()?.to_owned(), l["status"].as_u64()?)))
            .collect()
    };
    eventually(
        "the gateway's 50 completion lines",
        Duration::from_secs(10),
        || answered().len() == 50,
    )
    .await;
    let answered = answered();
    let declined = answered.values().filter(|s| **s == 402).count() as u64;
    assert_eq!(declined, count("402"), "the gateway declined as many");

    let slowest = summary["slowest"].as_array().expect("slowest");
    assert_eq!(slowest.len(), 5);
    let latencies: Vec<f64> = slowest
        .iter()
        .map(|s| s["latency_ms"].as_f64().expect("ms"))
        .collect();
    assert!(
        latencies.windows(2).all(|w| w[0] >= w[1]),
        "slowest first: {latencies:?}"
    );
    assert!(latencies[0] <= at("max") * 1.001);
    for slow in slowest {
        let id = slow["request_id"].as_str().expect("a request id");
        assert_eq!(
            answered.get(id).copied(),
            slow["status"].as_u64(),
            "{id} as the gateway answered it"
        );
        assert_eq!(
            slow["follow"],
            json!(format!("{} follow {id}", binary!().path().display())),
            "the binary as it was run"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_and_a_duration_bound_the_run() {
    let factory = Factory::start(ServiceOptions::default())
        .await
        .expect("the services start");
    let gateway = factory.url(ServiceName::Gateway);
    let args = [
        "load",
        "--duration",
        "1s",
        "--rate",
        "20",
        "--concurrency",
        "2",
    ];
    let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    args.extend(["--gateway".to_owned(), gateway]);
    let output = binary!().output(args).await;
    factory.stop().await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains('\x1b') && !text.contains('\r'),
        "no progress bar off a terminal: {text:?}"
    );
    let orders: u64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the summary starts with the count: {text}"));
    assert!(
        (15..=20).contains(&orders),
        "20/s for 1 s placed {orders}: {text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("ordertrail follow "))
            .count(),
        5,
        "{text}"
    );
}

#[tokio::test]
async fn no_gateway_exits_1() {
    let port = free_port();
    let gateway = format!("http://127.0.0.1:{port}");
    let args = [
        "load",
        "--orders",
        "3",
        "--gateway",
        &gateway,
        "--timeout",
        "2s",
    ];
    let output = binary!()
        .output(args.iter().map(|s| (*s).to_owned()).collect())
        .await;
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("no order got an answer"), "{message}");
}

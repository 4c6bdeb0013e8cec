//! The flight recorder across the four services, as processes of the real binary at
//! `RUST_LOG=info` over real HTTP, with their JSON log files and their OTLP log records: a
//! failed payment leaves the `DEBUG` detail of every hop of that order; a successful order
//! leaves none; a slow one replays; a valid debug token gives one request's detail at every
//! hop, and an invalid one nothing.

use std::time::Duration;

use http::StatusCode;
use ordertrail::recorder::{DEBUG_HEADER, DebugKey, REPLAY_HEADER};
use ordertrail_testkit::{
    APPROVED_CARD, EXPORT_WAIT, LINES_WAIT, LocalRun, SERVICES, binary, order_body, wait_until,
};
use serde_json::Value;

const SECRET: &str = "flight test secret";

/// Posts an order as `request_id` with extra headers; the status and the replay header.
async fn order(
    run: &LocalRun,
    request_id: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>) {
    let mut request = run
        .client
        .post(format!("{}/orders", run.gateway()))
        .header("x-request-id", request_id)
        .json(&order_body("mug-classic", 1, APPROVED_CARD));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request.send().await.expect("POST /orders");
    let replay = res
        .headers()
        .get(REPLAY_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    (res.status(), replay)
}

fn messages(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default())
        .collect()
}

/// Asserts every service wrote `DEBUG` lines for `request_id`, each marked replayed, and
/// that `expected` (service, message) are among them; returns the triggers seen per service.
async fn assert_every_hop_replayed(run: &LocalRun, request_id: &str, expected: &[(&str, &str)]) {
    for service in SERVICES {
        run.wait_completed(service, request_id).await;
        let wanted: Vec<&str> = expected
            .iter()
            .filter(|(s, _)| *s == service)
            .map(|(_, m)| *m)
            .collect();
        let debug = replayed_lines(run, service, request_id, &wanted).await;
        assert!(
            !debug.is_empty(),
            "{service} wrote no DEBUG line for {request_id}"
        );
        for line in &debug {
            assert_eq!(line["replayed"], true, "{service}: {line}");
            assert!(line["replay_trigger"].is_string(), "{service}: {line}");
        }
    }
    for (service, message) in expected {
        let debug = run.debug_lines(service, request_id);
        assert!(
            messages(&debug).contains(message),
            "{service}: {:?}",
            messages(&debug)
        );
    }
}

/// The `DEBUG` lines `service` wrote for `request_id`, once they hold every one of `wanted`
/// (at most [`LINES_WAIT`]; the caller's assertions say what is missing after that). A hop's
/// detail can come after its first completion line: inventory holds the detail of a
/// reservation until the compensation call of a failed order asks for it.
async fn replayed_lines(
    run: &LocalRun,
    service: &str,
    request_id: &str,
    wanted: &[&str],
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + LINES_WAIT;
    loop {
        let debug = run.debug_lines(service, request_id);
        let seen = messages(&debug);
        let complete = !debug.is_empty() && wanted.iter().all(|m| seen.contains(m));
        if complete || std::time::Instant::now() >= deadline {
            return debug;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_leaves_the_debug_lines_of_every_hop_in_logs_and_otlp() {
    let run =
        LocalRun::start_with(&binary!(), &[("payments", "ORDERTRAIL_FAIL_RATE", "1.0")]).await;
    let (status, replay) = order(&run, "flight-failed", &[]).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(replay.as_deref(), Some("server_error"));
    let expected = [
        ("gateway", "order valid, forwarding to orders"),
        ("orders", "reserving stock"),
        ("orders", "charging the card"),
        ("payments", "charging"),
        ("inventory", "stock looked up"),
        ("inventory", "finishing reservation"),
    ];
    assert_every_hop_replayed(&run, "flight-failed", &expected).await;
    // Inventory answered well; its detail was held, then kept when the compensation call
    // arrived with the keep flag of an order whose payment had failed.
    let inventory = run.debug_lines("inventory", "flight-failed");
    assert!(
        inventory.iter().all(|l| l["replay_trigger"] == "caller"),
        "{inventory:#?}"
    );
    let payments = run.debug_lines("payments", "flight-failed");
    assert!(
        payments
            .iter()
            .all(|l| l["replay_trigger"] == "server_error"),
        "{payments:#?}"
    );

    let received = run.collector.received();
    wait_until(
        &received,
        "replayed DEBUG records of every service",
        EXPORT_WAIT,
        |_| {
            SERVICES
                .iter()
                .all(|s| !run.debug_records(s, "flight-failed").is_empty())
        },
    )
    .await;
    for service in SERVICES {
        for record in run.debug_records(service, "flight-failed") {
            assert!(
                record.attribute_str("replay_trigger").is_some(),
                "{service}: {record:?}"
            );
        }
    }

    // `follow` shows them where they happened, marked.
    let dir = run.dir.display().to_string();
    let args = ["follow", "flight-failed", "--log-dir", &dir].map(str::to_owned);
    let output = binary!().output(args.to_vec()).await;
    let text = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let shown = [
        "↺ replayed(server_error) charging",
        "↺ replayed(caller) stock looked up",
    ];
    for line in shown {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }

    // `load --json` counts the orders whose detail was replayed, by trigger.
    let gateway = run.gateway();
    let args = [
        "load",
        "--orders",
        "6",
        "--decline-rate",
        "0",
        "--gateway",
        &gateway,
        "--json",
    ];
    let output = binary!().output(args.map(str::to_owned).to_vec()).await;
    let summary: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(summary["statuses"]["502"], 6, "{summary:#}");
    assert_eq!(summary["replays"]["server_error"], 6, "{summary:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_token_gives_one_requests_detail_at_every_hop_and_nothing_else_does() {
    let run = LocalRun::start_with(&binary!(), &[("*", "ORDERTRAIL_DEBUG_SECRET", SECRET)]).await;
    let (status, replay) = order(&run, "flight-plain", &[]).await;
    assert_eq!((status, replay), (StatusCode::CREATED, None));

    let token = DebugKey::new(SECRET.as_bytes().to_vec()).token_for("flight-debug");
    let (status, replay) = order(&run, "flight-debug", &[(DEBUG_HEADER, &token)]).await;
    assert_eq!(
        (status, replay.as_deref()),
        (StatusCode::CREATED, Some("debug"))
    );

    let forged = DebugKey::new(b"not the secret".to_vec()).token_for("flight-forged");
    let refused = [
        ("flight-forged", forged.as_str()),
        ("flight-reused", token.as_str()),
    ];
    for (id, value) in refused {
        let (status, replay) = order(&run, id, &[(DEBUG_HEADER, value)]).await;
        assert_eq!((status, replay), (StatusCode::CREATED, None), "{id}");
    }
    let baggage = [("baggage", "ordertrail.debug=1")];
    let (status, replay) = order(&run, "flight-baggage", &baggage).await;
    assert_eq!(
        (status, replay),
        (StatusCode::CREATED, None),
        "the edge ignores the flag"
    );

    assert_every_hop_replayed(&run, "flight-debug", &[("payments", "charging")]).await;
    for service in SERVICES {
        let lines = run.debug_lines(service, "flight-debug");
        assert!(
            lines.iter().all(|l| l["replay_trigger"] == "debug"),
            "{lines:#?}"
        );
        for id in [
            "flight-plain",
            "flight-forged",
            "flight-reused",
            "flight-baggage",
        ] {
            run.wait_completed(service, id).await;
            assert_eq!(
                run.debug_lines(service, id),
                Vec::<Value>::new(),
                "{service} {id}"
            );
        }
    }
    let received = run.collector.received();
    wait_until(
        &received,
        "the debug request's records",
        EXPORT_WAIT,
        |_| {
            SERVICES
                .iter()
                .all(|s| !run.debug_records(s, "flight-debug").is_empty())
        },
    )
    .await;
    for id in [
        "flight-plain",
        "flight-forged",
        "flight-reused",
        "flight-baggage",
    ] {
        for service in SERVICES {
            assert!(run.debug_records(service, id).is_empty(), "{service} {id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_payment_replays_the_detail_of_the_slow_hops() {
    let env = [
        ("payments", "ORDERTRAIL_LATENCY_MS", "400"),
        ("*", "ORDERTRAIL_RECORDER_SLOW_MS", "300"),
    ];
    let run = LocalRun::start_with(&binary!(), &env).await;
    let (status, replay) = order(&run, "flight-slow", &[]).await;
    assert_eq!(
        (status, replay.as_deref()),
        (StatusCode::CREATED, Some("slow"))
    );
    for service in ["gateway", "orders", "payments"] {
        run.wait_completed(service, "flight-slow").await;
        let lines = run.debug_lines(service, "flight-slow");
        assert!(!lines.is_empty(), "{service}");
        assert!(
            lines.iter().all(|l| l["replay_trigger"] == "slow"),
            "{lines:#?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    run.wait_completed("inventory", "flight-slow").await;
    assert!(
        run.debug_lines("inventory", "flight-slow").is_empty(),
        "inventory was fast, and no failure asked for its detail"
    );
}

//! While the collector is down, what export loses is counted and reported in a `WARN` line
//! (every 10 s by default; every 300 ms here through `ORDERTRAIL_LOSS_REPORT_MS`), and the
//! requests themselves never notice.

use std::time::{Duration, Instant};

use ordertrail_testkit::{Stack, StackConfig, binary, free_port, get_with_id, loopback};
use serde_json::Value;

const WARNING: &str =
    "telemetry export is losing data (collector down or slow); requests are not affected";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losses_are_counted_and_reported_while_the_collector_is_down() {
    let nothing_listens = free_port();
    let config = StackConfig::new(format!("http://{}", loopback(nothing_listens)))
        .gateway_env("ORDERTRAIL_LOSS_REPORT_MS", "300");
    let stack = Stack::start(&binary!(), &config).await;
    let catalog = format!("{}/catalog", stack.gateway());
    for n in 0..20 {
        let reply = get_with_id(&stack.client, &catalog, &format!("lossy-{n}"), &[]).await;
        assert!(reply.status.is_success(), "request {n}: {}", reply.status);
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    let warning = loop {
        let found = stack
            .json_lines("gateway")
            .into_iter()
            .find(|l| l["message"] == WARNING && lost(l, "spans") > 0 && lost(l, "logs") > 0);
        if let Some(line) = found {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "no loss warning with spans and logs lost within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["spans_exported"], 0, "{warning}");
    assert_eq!(warning["logs_exported"], 0, "{warning}");
}

/// `<signal>_failed + <signal>_dropped` of a warning line.
fn lost(line: &Value, signal: &str) -> u64 {
    let count = |what: &str| line[format!("{signal}_{what}")].as_u64().unwrap_or(0);
    count("failed") + count("dropped")
}

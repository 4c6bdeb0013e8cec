//! What `ordertrail load` (the real binary) tells a user whose run cannot work as asked: a
//! gateway nobody listens on is an error naming it, not a rate; a `--rate` that
//! `--concurrency` cannot reach is warned about while the run goes and explained in the summary.

use std::time::Duration;

use ordertrail_factory::services::payments::PaymentsState;
use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use ordertrail_testkit::{binary, free_port};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn a_gateway_nobody_listens_on_is_an_error_naming_it() {
    let gateway = format!("http://127.0.0.1:{}", free_port());
    let run = [
        "load",
        "--orders",
        "5",
        "--timeout",
        "2s",
        "--gateway",
        &gateway,
    ];
    let output = binary!().output(args(&run)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "",
        "no summary, no rate"
    );
    let expected = format!(
        "ordertrail: no order got an answer from the gateway at {gateway}: of 5 orders, 5 \
         could not connect ("
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("orders/s"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_out_of_reach_is_warned_about_and_explained() {
    let options = ServiceOptions {
        payments: PaymentsState {
            fail_rate: 0.0,
            latency: Duration::from_millis(200),
        },
        ..ServiceOptions::default()
    };
    let factory = Factory::start(options).await.expect("the services start");
    let gateway = factory.url(ServiceName::Gateway);
    let run = [
        "load",
        "--duration",
        "2s",
        "--rate",
        "40",
        "--concurrency",
        "2",
        "--gateway",
        &gateway,
    ];
    let output = binary!().output(args(&run)).await;
    factory.stop().await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    // 2 workers at ≥ 200 ms place at most 10/s; 40/s needs at least 8.
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("ordertrail: warning: --rate 40.0 orders/s cannot be reached"))
        .unwrap_or_else(|| panic!("a warning during the run: {stderr}"));
    let elapsed: f64 = stdout
        .split_whitespace()
        .nth(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the summary starts with the time: {stdout}"));
    assert!(
        elapsed < 3.0,
        "a 2 s run behind its rate ends on time: {stdout}"
    );
    let needed = suggested_concurrency(warning);
    assert!((8..=12).contains(&needed), "{warning}");
    let rate_line = stdout
        .lines()
        .find(|l| l.starts_with("rate      asked 40.0 orders/s, placed "))
        .unwrap_or_else(|| panic!("the summary explains the rate: {stdout}"));
    assert!(rate_line.contains("with --concurrency 2"), "{rate_line}");
    assert!(rate_line.ends_with(" would reach it"), "{rate_line}");
}

/// `N` of the `--concurrency N would reach it` that ends `message`.
fn suggested_concurrency(message: &str) -> usize {
    message
        .rsplit("--concurrency ")
        .next()
        .and_then(|tail| tail.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a suggested concurrency: {message}"))
}

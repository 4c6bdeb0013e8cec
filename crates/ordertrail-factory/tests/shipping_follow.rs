//! `ordertrail up` (HTTP fallback, nothing installed) then `ordertrail follow`: the order's
//! journey shows the shipping hop — the relay's publish span and shipping's span in the same
//! trace — and the time from order to shipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ordertrail_testkit::bench::UpRun;
use ordertrail_testkit::{Binary, binary};

/// How long `up` may take to start or to stop.
const UP_PATIENCE: Duration = Duration::from_secs(60);

/// `up` with `extra` arguments in a fresh directory, answering; the run and its directory.
fn start_up(ordertrail: &Binary, name: &str, extra: &[&str]) -> (UpRun, PathBuf) {
    let dir = ordertrail.fresh_dir(name);
    let up = UpRun::start(ordertrail.command(), extra, &dir, UP_PATIENCE);
    up.wait_ready();
    (up, dir)
}

/// Places an order under `request_id` through `up`'s gateway, then runs `follow` on it with
/// `follow_args` until it succeeds; what it printed.
fn order_then_follow(
    ordertrail: &Binary,
    up: &UpRun,
    logs: &Path,
    request_id: &str,
    follow_args: &[&str],
) -> String {
    let gateway = up.gateway();
    until_success(
        || {
            let mut order = ordertrail.command();
            order.args(["order", "--gateway", &gateway, "--request-id", request_id]);
            order
        },
        Duration::from_secs(30),
    );
    follow(ordertrail, logs, request_id, follow_args)
}

/// `follow request_id <follow_args> --log-dir logs`, run until it succeeds; what it printed.
fn follow(ordertrail: &Binary, logs: &Path, request_id: &str, follow_args: &[&str]) -> String {
    until_success(
        || {
            let mut follow = ordertrail.command();
            follow
                .args(["follow", request_id])
                .args(follow_args)
                .arg("--log-dir")
                .arg(logs);
            follow
        },
        Duration::from_secs(30),
    )
}

/// Runs `command` until it succeeds (at most `within`); its last stdout.
fn until_success(mut command: impl FnMut() -> Command, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let out = command().output().expect("runs");
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "failed for {within:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn follow_shows_the_shipping_hop_and_the_time_to_shipped() {
    let ordertrail = binary!();
    let (up, dir) = start_up(&ordertrail, "shipping-follow", &[]);
    let logs = dir.join("logs");
    let shown = order_then_follow(&ordertrail, &up, &logs, "follow-ship-1", &[]);
    assert!(
        shown.contains("shipped ") && shown.contains("ms after the order was confirmed"),
        "{shown}"
    );
    let rows: Vec<&str> = shown.lines().collect();
    assert!(
        rows.iter()
            .any(|l| l.contains("orders") && l.contains("publish orders.confirmed")),
        "the relay's publish span:\n{shown}"
    );
    assert!(
        rows.iter().any(|l| l.trim_start().starts_with("shipping")),
        "a shipping row:\n{shown}"
    );
    let json = follow(&ordertrail, &logs, "follow-ship-1", &["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("one JSON document");
    let traces = doc["traces"].as_array().expect("traces");
    assert!(
        traces.iter().any(|t| t["order_to_shipped_ms"]
            .as_f64()
            .is_some_and(|ms| ms >= 0.0)),
        "{doc}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn up_with_a_nats_url_carries_the_order_through_jetstream() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let Some(nats) = runtime.block_on(ordertrail_testkit::NatsServer::start("up --nats-url"))
    else {
        return;
    };
    let ordertrail = binary!();
    let (up, dir) = start_up(
        &ordertrail,
        "shipping-follow-nats",
        &["--nats-url", &nats.url],
    );
    let logs = dir.join("logs");
    let shown = order_then_follow(&ordertrail, &up, &logs, "follow-nats-1", &[]);
    assert!(
        shown.contains("ms after the order was confirmed"),
        "{shown}"
    );
    assert!(
        shown.contains("process orders.confirmed"),
        "shipping's consumer span:\n{shown}"
    );
    let settled = ordertrail
        .command()
        .args(["follow", "follow-nats-1", "--wait", "10s", "--log-dir"])
        .arg(&logs)
        .output()
        .expect("follow runs");
    let warned = String::from_utf8_lossy(&settled.stderr);
    assert!(
        !warned.contains("had not arrived"),
        "shipping's consumer span settles the journey: {warned}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

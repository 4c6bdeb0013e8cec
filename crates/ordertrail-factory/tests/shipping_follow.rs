//! `ordertrail up` (HTTP fallback, nothing installed) then `ordertrail follow`: the order's
//! journey shows the shipping hop — the relay's publish span and shipping's span in the same
//! trace — and the time from order to shipped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ordertrail_testkit::binary;

/// `up` in a directory, killed (and reaped) when dropped.
struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A base port with its five services' ports and the collector's (base + 5) free.
fn free_base_port() -> u16 {
    let start = 40_000 + u16::try_from(std::process::id() % 1_000).expect("small") * 10;
    (0..300)
        .map(|i| start + 10 * i)
        .find(|base| (0..6).all(|o| std::net::TcpListener::bind(("127.0.0.1", base + o)).is_ok()))
        .expect("no six free consecutive ports")
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
    let dir = ordertrail.fresh_dir("shipping-follow");
    let base = free_base_port();
    let (gateway_port, otlp_port) = (base.to_string(), (base + 5).to_string());
    let child = ordertrail
        .command()
        .args([
            "up",
            "--base-port",
            &gateway_port,
            "--otlp-port",
            &otlp_port,
        ])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("up starts");
    let _up = Up(child);
    let gateway = format!("http://127.0.0.1:{base}");
    until_success(
        || {
            let mut order = ordertrail.command();
            order.args([
                "order",
                "--gateway",
                &gateway,
                "--request-id",
                "follow-ship-1",
            ]);
            order
        },
        Duration::from_secs(30),
    );
    let logs = dir.join("logs");
    let shown = until_success(
        || {
            let mut follow = ordertrail.command();
            follow
                .args(["follow", "follow-ship-1", "--log-dir"])
                .arg(&logs);
            follow
        },
        Duration::from_secs(30),
    );
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
    let json = until_success(
        || {
            let mut follow = ordertrail.command();
            follow
                .args(["follow", "follow-ship-1", "--json", "--log-dir"])
                .arg(&logs);
            follow
        },
        Duration::from_secs(30),
    );
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
    let dir = ordertrail.fresh_dir("shipping-follow-nats");
    let base = free_base_port();
    let (gateway_port, otlp_port) = (base.to_string(), (base + 5).to_string());
    let child = ordertrail
        .command()
        .args([
            "up",
            "--base-port",
            &gateway_port,
            "--otlp-port",
            &otlp_port,
        ])
        .args(["--nats-url", &nats.url])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("up starts");
    let _up = Up(child);
    let gateway = format!("http://127.0.0.1:{base}");
    until_success(
        || {
            let mut order = ordertrail.command();
            order.args([
                "order",
                "--gateway",
                &gateway,
                "--request-id",
                "follow-nats-1",
            ]);
            order
        },
        Duration::from_secs(30),
    );
    let logs = dir.join("logs");
    let shown = until_success(
        || {
            let mut follow = ordertrail.command();
            follow
                .args(["follow", "follow-nats-1", "--log-dir"])
                .arg(&logs);
            follow
        },
        Duration::from_secs(30),
    );
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

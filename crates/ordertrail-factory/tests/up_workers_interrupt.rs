//! Ctrl-C on `ordertrail up --workers 2`, as a terminal sends it: SIGINT to the whole
//! process group. `up` must stop everything with one graceful drain: no worker killed, every
//! span of an order placed just before exported to the embedded collector, and no process left.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use ordertrail_factory::journey::{SpanKind, SpanRecord, parse_traces};
use ordertrail_testkit::{Binary, binary, read_json_lines};
use serde_json::Value;

const SERVICES: [&str; 4] = ["gateway", "orders", "inventory", "payments"];

/// `ordertrail up` leading its own process group, like a shell job; the whole group is
/// SIGKILLed if the test ends early.
struct Up(Child);

impl Up {
    fn start(binary: &Binary, dir: &Path, args: &[&str]) -> Self {
        let child = binary
            .command()
            .arg("up")
            .args(args)
            .current_dir(dir)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ordertrail up");
        Self(child)
    }

    fn group(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.0.id()).expect("pid"))
    }

    /// Reads stdout until the banner's last line (at most 60 s); keeps draining it after.
    fn wait_up(&mut self) {
        let out = self.0.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("spans and OTLP log records") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("up did not report all four services up");
    }

    /// SIGINT to every process of the group, as Ctrl-C in a terminal; waits (at most 60 s).
    fn ctrl_c_and_wait(&mut self) -> ExitStatus {
        killpg(self.group(), Signal::SIGINT).expect("SIGINT to the group");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("up did not stop within 60 s of Ctrl-C");
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = killpg(self.group(), Signal::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// A base port whose four ports, and one more for the collector, are free right now (below the
/// ephemeral ports, which other tests' connections take).
fn free_base_port() -> u16 {
    ordertrail_testkit::free_port_run(6)
}

#[test]
fn ctrl_c_on_up_with_workers_drains_once_and_keeps_every_span() {
    let base = free_base_port();
    let (gateway, otlp) = (base.to_string(), (base + 5).to_string());
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("up-workers-ctrl-c");
    let args = [
        "--base-port",
        &gateway,
        "--otlp-port",
        &otlp,
        "--workers",
        "2",
    ];
    let mut up = Up::start(&ordertrail, &dir, &args);
    up.wait_up();

    let request_id = "ctrl-c-workers-1";
    place_order(&ordertrail, base, request_id);
    let status = up.ctrl_c_and_wait();
    assert!(status.success(), "up exited with {status}");

    let logs = dir.join("logs");
    let spans = order_spans(&logs.join("otlp").join("traces.jsonl"), request_id);
    assert_whole_order(&spans);
    assert_masters_drained(&logs);
    assert_no_process_left(&logs);
    let _ = std::fs::remove_dir_all(&dir);
}

fn place_order(ordertrail: &Binary, base: u16, request_id: &str) {
    let url = format!("http://127.0.0.1:{base}");
    let order = ordertrail
        .command()
        .args(["order", "--gateway", &url, "--request-id", request_id])
        .stdin(Stdio::null())
        .output()
        .expect("run ordertrail order");
    let printed = String::from_utf8_lossy(&order.stdout);
    assert!(order.status.success(), "order failed: {printed}");
}

/// Each of the three masters logged one clean stop: no worker killed, none failed.
fn assert_masters_drained(logs: &Path) {
    for service in ["gateway", "orders", "payments"] {
        let lines = read_json_lines(&logs.join(format!("{service}.jsonl")));
        let stops: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message"] == "master stopped")
            .collect();
        assert_eq!(stops.len(), 1, "{service}: {stops:?}");
        assert_eq!(stops[0]["killed"], 0, "{service} killed workers: {stops:?}");
        assert_eq!(stops[0]["failed"], 0, "{service} workers failed: {stops:?}");
        let second = lines
            .iter()
            .any(|l| l["message"] == "second stop signal: killing the workers");
        assert!(!second, "{service}'s master took a second stop signal");
    }
}

/// Every span of the traces that carry `request_id`.
fn order_spans(traces: &Path, request_id: &str) -> Vec<SpanRecord> {
    let text = std::fs::read_to_string(traces).expect("otlp/traces.jsonl");
    let all: Vec<SpanRecord> = text
        .lines()
        .flat_map(|line| parse_traces(line).expect("an OTLP traces line"))
        .collect();
    let ids: BTreeSet<&str> = all
        .iter()
        .filter(|s| s.request_id.as_deref() == Some(request_id))
        .map(|s| s.trace_id.as_str())
        .collect();
    assert!(!ids.is_empty(), "no span of {request_id} was exported");
    let ids: BTreeSet<String> = ids.into_iter().map(str::to_owned).collect();
    all.into_iter()
        .filter(|s| ids.contains(&s.trace_id))
        .collect()
}

/// The order's whole journey: the server spans of the four services (inventory twice:
/// reserve, then commit in the dispatch), the dispatch span, and no span whose parent is
/// missing from the export.
fn assert_whole_order(spans: &[SpanRecord]) {
    let mut servers: BTreeMap<&str, usize> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.kind == SpanKind::Server) {
        *servers.entry(span.service.as_str()).or_default() += 1;
    }
    let names: Vec<String> = spans
        .iter()
        .map(|s| format!("{}:{}", s.service, s.name))
        .collect();
    for service in SERVICES {
        assert!(
            servers.contains_key(service),
            "no {service} server span: {names:?}"
        );
    }
    assert!(
        servers["inventory"] >= 2,
        "the commit is missing: {names:?}"
    );
    assert!(
        spans
            .iter()
            .any(|s| s.service == "orders" && s.name == "dispatch"),
        "no dispatch span: {names:?}"
    );
    let ids: BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let orphans: Vec<&String> = spans
        .iter()
        .filter(|s| {
            s.parent_span_id
                .as_deref()
                .is_some_and(|p| !ids.contains(p))
        })
        .map(|s| &s.name)
        .collect();
    assert!(
        orphans.is_empty(),
        "parents not exported: {orphans:?} of {names:?}"
    );
    eprintln!("{} spans of the order: {names:?}", spans.len());
}

/// No pid that wrote to a service log (masters and workers) is alive after `up` exited.
fn assert_no_process_left(logs: &Path) {
    let mut pids = BTreeSet::new();
    for service in SERVICES {
        let lines = read_json_lines(&logs.join(format!("{service}.jsonl")));
        pids.extend(lines.iter().filter_map(|l| l["pid"].as_u64()));
    }
    assert!(
        pids.len() >= 10,
        "3 masters, 6 workers and inventory: {pids:?}"
    );
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} outlived up"
        );
    }
}

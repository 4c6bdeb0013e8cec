//! `ordertrail up`, the README's run command, as a user runs it: the real binary, the default
//! ports (8080-8084, collector 4317) or moved ones, an order placed with `ordertrail order`,
//! Ctrl-C.
//!
//! The tests share the machine's ports, so they run one at a time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ordertrail_testkit::{Binary, binary, read_json_lines};
use serde_json::Value;

/// The default ports share one machine, and tests that look for free ports would find the same
/// ones: one `up` at a time.
static PORTS: Mutex<()> = Mutex::new(());

/// `ordertrail up` in `dir`, killed if the test ends early, and what it printed on stdout.
struct Up(Child, Arc<Mutex<String>>);

impl Up {
    fn start(binary: &Binary, dir: &Path) -> Self {
        Self::start_with(binary, dir, &[])
    }

    fn start_with(binary: &Binary, dir: &Path, args: &[&str]) -> Self {
        let child = binary
            .command()
            .arg("up")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ordertrail up");
        Self(child, Arc::default())
    }

    /// `up` with its services and collector moved to six free consecutive ports; the base.
    fn start_on_free_ports(binary: &Binary, dir: &Path) -> (Self, u16) {
        let base = free_base_port();
        let (gateway, otlp) = (base.to_string(), (base + 5).to_string());
        let args = [
            "--base-port",
            gateway.as_str(),
            "--otlp-port",
            otlp.as_str(),
        ];
        (Self::start_with(binary, dir, &args), base)
    }

    /// Everything `up` printed on stdout so far (read since [`Up::wait_up`]).
    fn printed(&self) -> String {
        self.1
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads stdout until the banner says all four are up (at most 60 s); the banner's lines.
    fn wait_up(&mut self) -> String {
        let out = self.0.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let printed = Arc::clone(&self.1);
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut all = printed.lock().unwrap_or_else(PoisonError::into_inner);
                all.push_str(&line);
                all.push('\n');
                drop(all);
                if line.starts_with("ordertrail: ") {
                    banner.push_str(&line);
                    banner.push('\n');
                }
                if line.contains("spans and OTLP log records") {
                    let _ = tx.send(std::mem::take(&mut banner));
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("up did not report all four services up")
    }

    fn interrupt_and_wait(&mut self) -> std::process::ExitStatus {
        let pid = Pid::from_raw(i32::try_from(self.0.id()).expect("pid"));
        kill(pid, Signal::SIGINT).expect("SIGINT");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("up did not stop within 30 s of Ctrl-C");
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn up_serves_an_order_logs_it_everywhere_and_stops_on_ctrl_c() {
    let _ports = PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("up-run");
    let mut up = Up::start(&ordertrail, &dir);
    up.wait_up();

    let order = ordertrail
        .command()
        .args(["order", "--request-id", "up-test-order-1"])
        .output()
        .expect("run ordertrail order");
    let printed = String::from_utf8_lossy(&order.stdout);
    assert!(order.status.success(), "order failed: {printed}");
    assert!(printed.contains("request  up-test-order-1"), "{printed}");
    assert!(
        printed.contains("grep -h up-test-order-1 logs/*.jsonl"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "{} follow up-test-order-1",
            ordertrail.path().display()
        )),
        "the follow command names the binary as it was run: {printed}"
    );
    std::thread::sleep(Duration::from_millis(1_500)); // dispatch after the response, and one export

    let status = up.interrupt_and_wait();
    assert!(status.success(), "up exited with {status}");

    let logs = dir.join("logs");
    let mut pids = Vec::new();
    for service in ["gateway", "orders", "inventory", "payments"] {
        let lines = read_json_lines(&logs.join(format!("{service}.jsonl")));
        let about: Vec<&Value> = lines
            .iter()
            .filter(|l| l["request_id"] == "up-test-order-1")
            .collect();
        assert!(!about.is_empty(), "{service} logged nothing for the order");
        assert!(
            about
                .iter()
                .all(|l| l["service"] == service && l["trace_id"].is_string()),
            "{service}: {about:?}"
        );
        pids.extend(lines.iter().filter_map(|l| l["pid"].as_u64()));
    }
    let mut globbed: Vec<String> = std::fs::read_dir(&logs)
        .expect("the log directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".jsonl"))
        .collect();
    globbed.sort();
    assert_eq!(
        globbed,
        [
            "gateway.jsonl",
            "inventory.jsonl",
            "orders.jsonl",
            "payments.jsonl",
            "shipping.jsonl"
        ],
        "what `grep <id> logs/*.jsonl` reads: the services' own lines, nothing else"
    );
    let traces =
        std::fs::read_to_string(logs.join("otlp").join("traces.jsonl")).expect("otlp/traces.jsonl");
    for service in ["gateway", "orders", "inventory", "payments"] {
        let own = std::fs::read_to_string(logs.join(format!("{service}.jsonl"))).expect("log");
        assert!(
            !own.contains("resourceSpans") && !own.contains("resourceLogs"),
            "{service}.jsonl holds OTLP export lines: grep over logs/*.jsonl would match them"
        );
    }
    assert!(
        traces.contains("up-test-order-1"),
        "the embedded collector received no span of the order"
    );
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "service pid {pid} outlived up"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn up_refuses_a_busy_port_before_starting_anything() {
    let _ports = PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Hold the gateway's port (if something else already holds it, up must refuse all the same).
    let _held = std::net::TcpListener::bind("127.0.0.1:8080");
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("up-busy");
    let out = ordertrail
        .command()
        .arg("up")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("run ordertrail up");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "up started on a busy port");
    assert!(
        stderr.contains("port 8080 for gateway is not free"),
        "unclear message: {stderr}"
    );
    assert!(
        stderr.contains("--base-port"),
        "the message names the flag that moves the ports: {stderr}"
    );
    assert!(
        !dir.join("logs").join("gateway.jsonl").exists(),
        "a service was started"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_busy_collector_port_is_refused_naming_otlp_port() {
    let _ports = PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let base = free_base_port();
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("hold a port");
    let otlp = held.local_addr().expect("its address").port().to_string();
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("up-busy-otlp");
    let out = ordertrail
        .command()
        .args(["up", "--base-port", &base.to_string(), "--otlp-port", &otlp])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("run ordertrail up");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "up started on a busy OTLP port");
    assert!(
        stderr.contains(&format!("port {otlp} for the OTLP collector is not free")),
        "unclear message: {stderr}"
    );
    assert!(
        stderr.contains("move this one with --otlp-port"),
        "the message names the flag that moves the collector: {stderr}"
    );
    assert!(
        !dir.join("logs").join("gateway.jsonl").exists(),
        "a service was started"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A base port whose four ports, and one more for the collector, are free right now (below the
/// ephemeral ports, which other tests' connections take).
fn free_base_port() -> u16 {
    ordertrail_testkit::free_port_run(6)
}

#[test]
fn up_moves_every_port_with_base_port_and_otlp_port() {
    let _ports = PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("up-base-port");
    let (mut up, base) = Up::start_on_free_ports(&ordertrail, &dir);
    let banner = up.wait_up();
    let url = format!("http://127.0.0.1:{base}");
    assert!(
        banner.contains(&format!("order --gateway {url}")),
        "the banner says how to reach the moved gateway: {banner}"
    );
    let order = ordertrail
        .command()
        .args(["order", "--gateway", &url, "--request-id", "moved-1"])
        .output()
        .expect("run ordertrail order");
    let printed = String::from_utf8_lossy(&order.stdout);
    assert!(order.status.success(), "order failed: {printed}");
    assert!(printed.contains("request  moved-1"), "{printed}");
    let status = up.interrupt_and_wait();
    assert!(status.success(), "up exited with {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends one raw HTTP/1.1 GET of `path` with `user_agent` to `port`, reading the answer to its end.
fn raw_get(port: u16, path: &str, user_agent: &str) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {user_agent}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
}

#[test]
fn up_prints_no_card_number_whatever_the_input() {
    let _ports = PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("up-cards");
    let (mut up, base) = Up::start_on_free_ports(&ordertrail, &dir);
    up.wait_up();
    let url = format!("http://127.0.0.1:{base}");
    let forms = [
        "4242.4242.4242.4242",
        "4000_0000_0000_0002",
        "card6011111111111117",
    ];
    for form in forms {
        // A card in the body's card and sku fields, through `ordertrail order`.
        let order = ordertrail
            .command()
            .args(["order", "--gateway", &url, "--card", form, "--sku", form])
            .output()
            .expect("run ordertrail order");
        assert!(!order.stdout.is_empty(), "order printed nothing");
        // A card in the path and the user-agent, to every service.
        for offset in 0..5 {
            raw_get(
                base + offset,
                &format!("/orders/{form}"),
                &format!("card {form}"),
            );
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = up.interrupt_and_wait();
    assert!(status.success(), "up exited with {status}");
    let printed = up.printed();
    assert!(
        printed.contains("[card ••••"),
        "the masked inputs reached up's stdout: {printed}"
    );
    ordertrail_testkit::cards::assert_no_cards("up's stdout", printed.lines().map(str::to_owned));
    let _ = std::fs::remove_dir_all(&dir);
}

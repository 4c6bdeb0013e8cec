//! The same four servers counted in instructions instead of seconds: each variant runs under
//! `valgrind --tool=callgrind` (all threads, user space), answers a fixed number of
//! `GET /hello` on one keep-alive connection, and stops gracefully (SIGTERM: the server drains,
//! the telemetry guard flushes its last batch, callgrind writes its totals).
//!
//! A run counts start-up and shutdown too, so each variant runs twice, with [`FEW`] and with
//! [`MANY`] requests, and the cost of one request is the difference over the extra requests:
//! start-up, the exporter's first connection and the final flush cancel out, while the spans
//! and log records the extra requests export are in it. Instruction counts do not move with
//! the machine's load the way wall-clock time does, so these numbers compare across days.
//!
//! The driver here is not under valgrind: only the server is counted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ordertrail_testkit::bench::callgrind;
use ordertrail_testkit::free_port;

use crate::variants::Variant;

/// Requests of the shorter run.
const FEW: u64 = 300;

/// Requests of the longer run.
const MANY: u64 = 1_300;

/// How long a server under valgrind may take to start or to stop.
const PATIENCE: Duration = Duration::from_secs(120);

/// Counts every variant and prints instructions per request, with the extra over bare and
/// the ratio of each variant's extra to the usual stack's.
pub(crate) fn compare(dir: &Path, collector: &str, refused: &str) {
    let mut per_request = Vec::new();
    for variant in Variant::ALL {
        let otlp = if variant == Variant::OrdertrailDown {
            refused
        } else {
            collector
        };
        let few = count(dir, variant, otlp, FEW);
        let many = count(dir, variant, otlp, MANY);
        let one = many.saturating_sub(few) as f64 / (MANY - FEW) as f64;
        eprintln!(
            "{:<16} {few} instructions for {FEW} requests, {many} for {MANY}",
            variant.name()
        );
        per_request.push(one);
    }
    report(&per_request);
}

/// Total instructions of `variant` serving `requests` requests, start to exit.
fn count(dir: &Path, variant: Variant, otlp: &str, requests: u64) -> u64 {
    let listen = format!("127.0.0.1:{}", free_port());
    let out = dir.join(format!("callgrind-{}-{requests}.out", variant.name()));
    let log = std::fs::File::create(dir.join(format!("{}-callgrind.log", variant.name())))
        .expect("log file");
    let mut server = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-systime=no"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(std::env::current_exe().expect("exe"))
        .args(["--serve", variant.name(), &listen, otlp])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("valgrind: install it (apt-get install valgrind)");
    let mut stream = connect_within(&listen, PATIENCE);
    for _ in 0..requests {
        get_hello(&mut stream);
    }
    drop(stream);
    let pid = Pid::from_raw(i32::try_from(server.id()).expect("pid"));
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let status = wait_within(&mut server, PATIENCE);
    assert!(
        status.success(),
        "{} under callgrind: {status}",
        variant.name()
    );
    total_instructions(&out)
}

fn connect_within(addr: &str, patience: Duration) -> TcpStream {
    let deadline = Instant::now() + patience;
    loop {
        match TcpStream::connect(addr) {
            Ok(stream) => {
                stream.set_nodelay(true).expect("nodelay");
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("timeout");
                return stream;
            }
            Err(err) if Instant::now() > deadline => panic!("{addr} never listened: {err}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// One `GET /hello` and its whole answer; panics on anything but 200.
fn get_hello(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n")
        .expect("write");
    let mut answer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "the server closed the connection");
        answer.extend_from_slice(&chunk[..n]);
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]);
            assert!(head.starts_with("HTTP/1.1 200"), "answer: {head}");
            let length = content_length(&head);
            if answer.len() >= end + 4 + length {
                return;
            }
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

fn wait_within(child: &mut std::process::Child, patience: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("the server did not stop within {patience:?} of SIGTERM");
}

/// Instructions executed, from a callgrind output file.
fn total_instructions(file: &Path) -> u64 {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
    callgrind::instructions(&text)
        .unwrap_or_else(|| panic!("no summary line in {}", file.display()))
}

fn report(per_request: &[f64]) {
    let (bare, usual) = (per_request[0], per_request[1]);
    println!(
        "\nGET /hello, instructions per request (callgrind, all threads; ({MANY} - {FEW} requests) difference)"
    );
    println!(
        "{:<16} {:>14} {:>16} {:>16}",
        "variant", "instructions", "extra over bare", "extra / usual's"
    );
    for (variant, one) in Variant::ALL.iter().zip(per_request) {
        println!(
            "{:<16} {:>13.1}k {:>15.1}k {:>15.0}%",
            variant.name(),
            one / 1000.0,
            (one - bare) / 1000.0,
            (one - bare) / (usual - bare) * 100.0
        );
    }
}

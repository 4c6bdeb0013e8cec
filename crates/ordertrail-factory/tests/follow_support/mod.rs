//! What the `follow_*` and `load_*` tests share: a local run laid out like `ordertrail up`'s —
//! the four services as child processes of the real binary, each appending JSON lines to
//! `<dir>/<service>.jsonl`, exporting to an in-test collector that writes `<dir>/traces.jsonl`
//! and `<dir>/otlp-logs.jsonl` — and running the binary's own commands against it.
//!
//! `otlp_support`'s `Stack` sends each service's stdout to a file of its own naming and takes
//! no `--log-file`, so the processes are started here, reusing its [`Child`] (SIGKILLed on drop).

#![allow(dead_code, unreachable_pub)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ordertrail_collector::{Collector, CollectorConfig};

pub use super::otlp_support::SERVICES;
use super::otlp_support::{Child, STARTUP, client, free_ports, loopback};

/// Four services writing to one directory, and the collector they export to.
#[derive(Debug)]
pub struct LocalRun {
    /// The directory `follow --log-dir` reads.
    pub dir: PathBuf,
    /// The in-test collector (in memory, and files in `dir`).
    pub collector: Collector,
    children: Vec<Child>,
    /// A client with a timeout.
    pub client: reqwest::Client,
}

impl LocalRun {
    /// Starts the collector and the four services; waits until each answers `/healthz`.
    pub async fn start() -> Self {
        let dir = fresh_dir();
        let listener = tokio::net::TcpListener::bind(loopback(0))
            .await
            .expect("bind the collector");
        let config = CollectorConfig::in_memory().out_dir(&dir);
        let collector = Collector::start(listener, config)
            .await
            .expect("start the collector");
        let children = spawn_all(&dir, &collector.grpc_endpoint());
        let run = Self {
            dir,
            collector,
            children,
            client: client(),
        };
        run.wait_healthy().await;
        run
    }

    /// Base URL of the gateway.
    pub fn gateway(&self) -> String {
        self.children[0].url()
    }

    /// The log file of `service`.
    pub fn log_file(&self, service: &str) -> PathBuf {
        self.dir.join(format!("{service}.jsonl"))
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + STARTUP;
        for child in &self.children {
            let url = format!("{}/healthz", child.url());
            loop {
                let reply = self.client.get(&url).send().await;
                if reply.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} not healthy within {STARTUP:?}: {}",
                    child.service,
                    child.stderr()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Drop for LocalRun {
    fn drop(&mut self) {
        self.children.clear();
        if std::thread::panicking() {
            eprintln!("local run kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn fresh_dir() -> PathBuf {
    let name = format!("follow-{}", uuid::Uuid::new_v4());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

fn spawn_all(dir: &Path, otlp: &str) -> Vec<Child> {
    let ports = free_ports();
    let url = |i: usize| format!("http://{}", loopback(ports[i]));
    let peers = [
        "--orders-url".to_owned(),
        url(1),
        "--inventory-url".to_owned(),
        url(2),
        "--payments-url".to_owned(),
        url(3),
    ];
    SERVICES
        .iter()
        .zip(&ports)
        .map(|(service, port)| spawn(service, *port, &peers, dir, otlp))
        .collect()
}

fn spawn(service: &'static str, port: u16, peers: &[String], dir: &Path, otlp: &str) -> Child {
    let stdout = dir.join(format!("{service}.stdout.log"));
    let stderr = dir.join(format!("{service}.stderr.log"));
    let mut command = binary();
    command
        .args(["serve", service, "--listen", &loopback(port).to_string()])
        .args(peers)
        .args(["--log-format", "pretty", "--log-file"])
        .arg(dir.join(format!("{service}.jsonl")))
        .arg("--db")
        .arg(dir.join("orders.sqlite3"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("create the stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("create the stderr file"));
    let process = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {service}: {e}"));
    Child::new(service, port, process, stdout, stderr)
}

/// The real binary, with none of the test's `OTEL_*`, `ORDERTRAIL_*` or `RUST_LOG` settings.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ordertrail"));
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("OTEL_") || text.starts_with("ORDERTRAIL_") || text == "RUST_LOG" {
            command.env_remove(&name);
        }
    }
    command.env("NO_COLOR", "1");
    command
}

/// Runs the binary with `args` off the async runtime and returns what it did.
pub async fn run_binary(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        binary()
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run ordertrail")
    })
    .await
    .expect("the command's thread")
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

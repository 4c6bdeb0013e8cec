//! [`LocalRun`]: a local run laid out like `ordertrail up`'s — the four services as child
//! processes of the real binary, each appending JSON lines to `<dir>/<service>.jsonl`,
//! exporting to an in-test collector that writes `<dir>/traces.jsonl` and
//! `<dir>/otlp-logs.jsonl` — for running the binary's own commands against it.
//!
//! [`Stack`](crate::Stack) sends each service's stdout to a file of its own naming and takes no
//! `--log-file`, so the processes are started here, each a [`Child`] (SIGKILLed on drop).
//! [`LocalRun::start_with`] gives services settings of their own (a fault, a debug secret, a
//! latency threshold), and the readers of one request's lines serve the flight recorder's
//! tests, which read each service's `DEBUG` lines of one request.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ordertrail_collector::{Collector, CollectorConfig, ReceivedLog};
use serde_json::Value;

use crate::{Binary, Child, SERVICES, STARTUP, client, free_ports, loopback, read_json_lines};

/// How long a request's lines may take to reach the log files and the collector.
pub const LINES_WAIT: Duration = Duration::from_secs(15);

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
    /// Starts the collector and the four services of `binary`; waits until each answers
    /// `/healthz`.
    pub async fn start(binary: &Binary) -> Self {
        Self::start_with(binary, &[]).await
    }

    /// [`LocalRun::start`], each service with the variables of `env` whose first item is its
    /// name (or `"*"` for all).
    pub async fn start_with(binary: &Binary, env: &[(&str, &str, &str)]) -> Self {
        let dir = binary.fresh_dir("local-run");
        let listener = tokio::net::TcpListener::bind(loopback(0))
            .await
            .expect("bind the collector");
        let config = CollectorConfig::in_memory().out_dir(&dir);
        let collector = Collector::start(listener, config)
            .await
            .expect("start the collector");
        let children = spawn_all(binary, &dir, &collector.grpc_endpoint(), env);
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

    /// Places an approved order under `request_id` and waits (at most 15 s) until it has been
    /// dispatched, so every span and line of the order exists.
    pub async fn place_dispatched(&self, request_id: &str) -> crate::Placed {
        let gateway = self.gateway();
        let placed = crate::place_order(&self.client, &gateway, Some(request_id)).await;
        let wait = Duration::from_secs(15);
        crate::wait_dispatched(&self.client, &gateway, &placed.order_id, None, wait).await;
        placed
    }

    /// Each service's name and `host:port`, in start order (gateway first).
    pub fn targets(&self) -> Vec<(&'static str, String)> {
        let host_port = |c: &Child| c.url().trim_start_matches("http://").to_owned();
        self.children
            .iter()
            .map(|c| (c.service, host_port(c)))
            .collect()
    }

    /// The log file of `service`.
    pub fn log_file(&self, service: &str) -> PathBuf {
        self.dir.join(format!("{service}.jsonl"))
    }

    /// The lines `service` wrote for `request_id`, in order.
    pub fn lines(&self, service: &str, request_id: &str) -> Vec<Value> {
        let path = self.dir.join(format!("{service}.jsonl"));
        if !path.exists() {
            return Vec::new();
        }
        read_json_lines(&path)
            .into_iter()
            .filter(|l| l["request_id"] == request_id)
            .collect()
    }

    /// The `DEBUG` lines `service` wrote for `request_id`.
    pub fn debug_lines(&self, service: &str, request_id: &str) -> Vec<Value> {
        let lines = self.lines(service, request_id);
        lines
            .into_iter()
            .filter(|l| l["level"] == "DEBUG")
            .collect()
    }

    /// Waits until `service` wrote its completion line for `request_id` (at most
    /// [`LINES_WAIT`]); then every replayed line of it is there too.
    pub async fn wait_completed(&self, service: &str, request_id: &str) {
        let deadline = Instant::now() + LINES_WAIT;
        loop {
            let lines = self.lines(service, request_id);
            if lines.iter().any(|l| l["message"] == "request completed") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{service} wrote no completion line for {request_id} within {LINES_WAIT:?}: {lines:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `DEBUG` log records `service` exported for `request_id`.
    pub fn debug_records(&self, service: &str, request_id: &str) -> Vec<ReceivedLog> {
        let logs = self.collector.received().logs();
        logs.into_iter()
            .filter(|l| l.service_name() == Some(service))
            .filter(|l| l.attribute_str("request_id") == Some(request_id))
            .filter(|l| l.record.severity_text == "DEBUG")
            .collect()
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

fn spawn_all(binary: &Binary, dir: &Path, otlp: &str, env: &[(&str, &str, &str)]) -> Vec<Child> {
    let ports: [u16; 4] = free_ports();
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
        .map(|(service, port)| {
            let own: Vec<(&str, &str)> = env
                .iter()
                .filter(|(s, _, _)| *s == "*" || s == service)
                .map(|(_, name, value)| (*name, *value))
                .collect();
            spawn(binary, service, *port, &peers, dir, otlp, &own)
        })
        .collect()
}

fn spawn(
    binary: &Binary,
    service: &'static str,
    port: u16,
    peers: &[String],
    dir: &Path,
    otlp: &str,
    env: &[(&str, &str)],
) -> Child {
    let stdout = dir.join(format!("{service}.stdout.log"));
    let stderr = dir.join(format!("{service}.stderr.log"));
    let mut command = binary.command();
    command
        .args(["serve", service, "--listen", &loopback(port).to_string()])
        .args(peers)
        .args(["--log-format", "pretty", "--log-file"])
        .arg(dir.join(format!("{service}.jsonl")))
        .arg("--db")
        .arg(dir.join("orders.sqlite3"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("create the stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("create the stderr file"));
    let process = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {service}: {e}"));
    Child::new(service, port, process, stdout, stderr)
}

//! [`Stack`]: the four services as child processes of the real binary, exporting to one OTLP
//! endpoint; [`StackConfig`]: how they are started.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::{Binary, Child, client, free_ports, loopback, read_json_lines};

/// The services, in the order they are started.
pub const SERVICES: [&str; 4] = ["gateway", "orders", "inventory", "payments"];

/// How long a service may take to answer `GET /healthz` after it was spawned.
pub const STARTUP: Duration = Duration::from_secs(15);

/// Tries with fresh ports before giving up: a port picked as free may be taken by the time a
/// child binds it.
const ATTEMPTS: usize = 3;

/// How the four services are started.
#[derive(Debug, Clone)]
pub struct StackConfig {
    endpoint: String,
    protocol: Option<&'static str>,
    schedule_delay_ms: u64,
    gateway_args: Vec<String>,
    gateway_env: Vec<(String, String)>,
}

impl StackConfig {
    /// Exports to the base endpoint `endpoint` over gRPC, batches sent every 200 ms.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            protocol: None,
            schedule_delay_ms: 200,
            gateway_args: Vec::new(),
            gateway_env: Vec::new(),
        }
    }

    /// Sets `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn protocol(mut self, protocol: &'static str) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Sets `OTEL_BSP_SCHEDULE_DELAY`.
    pub fn schedule_delay_ms(mut self, ms: u64) -> Self {
        self.schedule_delay_ms = ms;
        self
    }

    /// Adds command-line arguments to the gateway only.
    pub fn gateway_args(mut self, args: &[&str]) -> Self {
        self.gateway_args
            .extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Sets an environment variable of the gateway only.
    pub fn gateway_env(mut self, name: &str, value: &str) -> Self {
        self.gateway_env.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// The four running services. Dropping it SIGKILLs them and removes their directory (kept,
/// and its path printed, when the test is panicking).
#[derive(Debug)]
pub struct Stack {
    children: Vec<Child>,
    dir: PathBuf,
    /// A client with a timeout, for talking to the services.
    pub client: reqwest::Client,
}

impl Stack {
    /// Starts the services of `binary` and waits until each answers `GET /healthz`.
    pub async fn start(binary: &Binary, config: &StackConfig) -> Self {
        let client = client();
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            let dir = binary.fresh_dir("otlp");
            let mut children = spawn_all(binary, config, &dir);
            match wait_healthy(&client, &mut children).await {
                Ok(()) => {
                    return Self {
                        children,
                        dir,
                        client,
                    };
                }
                Err(failure) => failures.push(failure),
            }
            drop(children);
            let _ = std::fs::remove_dir_all(&dir);
        }
        panic!("the services did not start in {ATTEMPTS} attempts: {failures:#?}");
    }

    /// Base URL of the gateway.
    pub fn gateway(&self) -> String {
        self.child("gateway").url()
    }

    /// The process of `service`.
    pub fn child(&self, service: &str) -> &Child {
        self.children
            .iter()
            .find(|c| c.service == service)
            .unwrap_or_else(|| panic!("no service {service}"))
    }

    /// Every complete JSON line `service` wrote to stdout so far, parsed. Panics on a line
    /// that is not one JSON object.
    pub fn json_lines(&self, service: &str) -> Vec<Value> {
        read_json_lines(self.child(service).stdout_path())
    }

    /// Sends SIGTERM to every service, then waits up to `timeout` for each to exit. Returns
    /// each service with its exit status, `None` for one still running.
    pub async fn terminate(
        &mut self,
        timeout: Duration,
    ) -> Vec<(&'static str, Option<ExitStatus>)> {
        for child in &self.children {
            child.signal(Signal::SIGTERM);
        }
        let deadline = Instant::now() + timeout;
        let mut statuses = Vec::new();
        for child in &mut self.children {
            let left = deadline.saturating_duration_since(Instant::now());
            statuses.push((child.service, child.wait_exit(left).await));
        }
        statuses
    }

    /// What `service` wrote to stderr.
    pub fn stderr(&self, service: &str) -> String {
        self.child(service).stderr()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let stderr: Vec<(&str, String)> = self
            .children
            .iter()
            .map(|c| (c.service, c.stderr()))
            .collect();
        self.children.clear();
        if std::thread::panicking() {
            eprintln!(
                "service output kept in {}; stderr: {stderr:#?}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn spawn_all(binary: &Binary, config: &StackConfig, dir: &Path) -> Vec<Child> {
    let ports: [u16; 4] = free_ports();
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("http://{}", loopback(*p)))
        .collect();
    SERVICES
        .iter()
        .zip(ports)
        .map(|(service, port)| spawn(binary, service, port, &urls, config, dir))
        .collect()
}

fn spawn(
    binary: &Binary,
    service: &'static str,
    port: u16,
    urls: &[String],
    config: &StackConfig,
    dir: &Path,
) -> Child {
    let stdout = dir.join(format!("{service}.stdout.jsonl"));
    let stderr = dir.join(format!("{service}.stderr.log"));
    let mut command = binary.command();
    command
        .args(["serve", service, "--listen", &loopback(port).to_string()])
        .args([
            "--orders-url",
            &urls[1],
            "--inventory-url",
            &urls[2],
            "--payments-url",
            &urls[3],
        ])
        .arg("--db")
        .arg(dir.join("orders.sqlite3"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &config.endpoint)
        .env(
            "OTEL_BSP_SCHEDULE_DELAY",
            config.schedule_delay_ms.to_string(),
        )
        .env("RUST_LOG", "info");
    if let Some(protocol) = config.protocol {
        command.env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol);
    }
    if service == "gateway" {
        command.args(&config.gateway_args);
        command.envs(config.gateway_env.iter().map(|(k, v)| (k, v)));
    }
    command
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).expect("create the stdout file"))
        .stderr(File::create(&stderr).expect("create the stderr file"));
    let process = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {service}: {e}"));
    Child::new(service, port, process, stdout, stderr)
}

/// Waits until every child answers `GET /healthz` with 200; fails at once if one exits.
async fn wait_healthy(client: &reqwest::Client, children: &mut [Child]) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP;
    let mut healthy = vec![false; children.len()];
    while Instant::now() < deadline {
        for (child, ok) in children.iter_mut().zip(healthy.iter_mut()) {
            if let Some(status) = child.exited() {
                return Err(format!(
                    "{} exited with {status}: {}",
                    child.service,
                    child.stderr()
                ));
            }
            if !*ok {
                *ok = answers_health(client, &child.url()).await;
            }
        }
        if healthy.iter().all(|ok| *ok) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("not healthy within {STARTUP:?}: {healthy:?}"))
}

async fn answers_health(client: &reqwest::Client, base: &str) -> bool {
    let reply = client
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    reply.is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
}

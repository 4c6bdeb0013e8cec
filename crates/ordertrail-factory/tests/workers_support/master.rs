//! [`Master`]: one `ordertrail serve <service> --workers N` process tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// How long a master may take until every worker accepts.
pub const STARTUP: Duration = Duration::from_secs(20);

/// A master process; it and every worker it logged are SIGKILLed on drop.
#[derive(Debug)]
pub struct Master {
    /// The port it listens on.
    pub port: u16,
    process: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Master {
    /// Starts `ordertrail serve <service> --listen 127.0.0.1:<port> --workers <n> <extra>`,
    /// JSON lines to a file.
    pub fn start(service: &str, port: u16, workers: usize, extra: &[&str]) -> Self {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ordertrail-workers-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (stdout, stderr) = (dir.join("stdout.jsonl"), dir.join("stderr.txt"));
        let file = |p: &PathBuf| std::fs::File::create(p).expect("log file");
        let process = Command::new(env!("CARGO_BIN_EXE_ordertrail"))
            .args(["serve", service, "--listen", &format!("127.0.0.1:{port}")])
            .args(["--workers", &workers.to_string()])
            .args(extra)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("ORDERTRAIL_WORKERS")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .spawn()
            .expect("start ordertrail");
        Self {
            port,
            process,
            stdout,
            stderr,
        }
    }

    /// The master's pid.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends `signal` to the master.
    pub fn signal(&self, signal: Signal) {
        send(self.pid(), signal).expect("signal the master");
    }

    /// Every line written so far, parsed; panics on a line that is not one JSON object.
    pub fn lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        // The last line may be half-written.
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The master's lines with this message.
    pub fn master_lines(&self, message: &str) -> Vec<Value> {
        let pid = u64::from(self.pid());
        self.lines()
            .into_iter()
            .filter(|l| l["pid"] == pid && l["message"] == message)
            .collect()
    }

    /// What it wrote to stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits (at most `timeout`) for a master line with `message` satisfying `predicate`.
    pub async fn wait_for(
        &self,
        message: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.master_lines(message).into_iter().find(&predicate) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no {message:?} line within {timeout:?}; stderr: {}; stdout: {:#?}",
                self.stderr(),
                self.lines()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until all workers accept; returns worker index → pid.
    pub async fn wait_ready(&self) -> BTreeMap<u64, u32> {
        self.wait_for("all workers accepting", STARTUP, |_| true)
            .await;
        self.workers()
    }

    /// Worker index → pid of the workers ready and not gone, per the master's log.
    pub fn workers(&self) -> BTreeMap<u64, u32> {
        let gone: BTreeSet<u32> = ["worker exited", "worker drained", "worker stopped"]
            .iter()
            .flat_map(|m| self.master_lines(m))
            .map(|l| worker_pid(&l))
            .collect();
        let mut workers = BTreeMap::new();
        for line in self.master_lines("worker ready") {
            let pid = worker_pid(&line);
            if !gone.contains(&pid) {
                workers.insert(line["worker"].as_u64().expect("worker index"), pid);
            }
        }
        workers
    }

    /// Every worker pid the master ever logged as started.
    pub fn all_worker_pids(&self) -> BTreeSet<u32> {
        self.master_lines("worker started")
            .iter()
            .map(worker_pid)
            .collect()
    }

    /// Waits (at most `timeout`, checking every 10 ms) for the master to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        for pid in self.all_worker_pids() {
            if alive(pid) && is_ordertrail(pid) {
                let _ = send(pid, Signal::SIGKILL);
            }
        }
    }
}

/// The `worker_pid` field of a master line.
pub fn worker_pid(line: &Value) -> u32 {
    let pid = line["worker_pid"].as_u64().expect("worker_pid");
    u32::try_from(pid).expect("pid fits u32")
}

/// The process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the last ')'.
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    !matches!(
        state.and_then(|s| s.chars().next()),
        Some('Z') | Some('X') | None
    )
}

fn is_ordertrail(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("ordertrail"))
}

fn send(pid: u32, signal: Signal) -> nix::Result<()> {
    kill(
        Pid::from_raw(i32::try_from(pid).expect("pid fits i32")),
        signal,
    )
}

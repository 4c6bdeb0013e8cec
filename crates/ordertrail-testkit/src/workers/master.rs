//! [`Master`]: one `ordertrail serve <service> --workers N` process tree.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::{Binary, Child, read_json_lines};

/// How long a master may take until every worker accepts.
pub const STARTUP: Duration = Duration::from_secs(20);

/// A master process; it and every worker it logged are SIGKILLed on drop.
#[derive(Debug)]
pub struct Master {
    /// The port it listens on.
    pub port: u16,
    process: Child,
}

impl Master {
    /// Starts `ordertrail serve <service> --listen 127.0.0.1:<port> --workers <n> <extra>`,
    /// JSON lines to a file.
    pub fn start(
        binary: &Binary,
        service: &'static str,
        port: u16,
        workers: usize,
        extra: &[&str],
    ) -> Self {
        let dir = binary.fresh_dir("workers");
        let (stdout, stderr) = (dir.join("stdout.jsonl"), dir.join("stderr.txt"));
        let file = |p: &_| std::fs::File::create(p).expect("log file");
        let process = binary
            .command()
            .args(["serve", service, "--listen", &format!("127.0.0.1:{port}")])
            .args(["--workers", &workers.to_string()])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .spawn()
            .expect("start ordertrail");
        let process = Child::new(service, port, process, stdout, stderr);
        Self { port, process }
    }

    /// The master's pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.process.url())
    }

    /// Sends `signal` to the master.
    pub fn signal(&self, signal: Signal) {
        self.process.signal(signal);
    }

    /// Every complete line written so far, parsed; panics on a line that is not one JSON
    /// object.
    pub fn lines(&self) -> Vec<Value> {
        read_json_lines(self.process.stdout_path())
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
        self.process.stderr()
    }

    /// Waits (at most `timeout`) for a master line with `message` satisfying `predicate`.
    pub async fn wait_for(
        &self,
        message: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        let found = crate::poll(timeout, Duration::from_millis(10), || {
            self.master_lines(message).into_iter().find(&predicate)
        });
        found.await.unwrap_or_else(|| {
            panic!(
                "no {message:?} line within {timeout:?}; stderr: {}; stdout: {:#?}",
                self.stderr(),
                self.lines()
            )
        })
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

    /// Waits (at most `timeout`, checking every 20 ms) for the master to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.process.wait_exit(timeout).await
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        // The master first, so it starts no new worker; then every worker it logged.
        self.process.kill();
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

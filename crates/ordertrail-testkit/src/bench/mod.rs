//! What the process benchmarks share: starting processes pinned to a core, and a closed-loop
//! HTTP load generator pinned to the other.
//!
//! Fairness on a 2-core machine: the server runs under `taskset -c 0`, the benchmark pins
//! itself to core 1, so the two never compete for a core. Every load loop is bounded by a
//! deadline.
//!
//! # Layout
//! - this module: pinning, and [`Proc`], a server process killed on drop.
//! - `drive`: [`drive`], closed loops of one [`Target`] on keep-alive connections, and the
//!   [`Run`] they measured.
//! - `up`: [`UpRun`], the whole factory under `ordertrail up` on free ports.
//! - [`callgrind`]: reading what callgrind counted.
//! - [`exported`]: counting what a service exported, in the collector's files.

pub mod callgrind;
mod drive;
pub mod exported;
mod up;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub use drive::{Run, Target, drive, median, wait_ready};
pub use up::{UP_PORTS, UpRun, free_base_port};

/// Pins the calling process (and threads it creates later) to `core`.
pub fn pin_self(core: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(core).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// Lets the calling thread (and threads it creates later) run on every one of `cores`.
pub fn pin_self_to(cores: &[usize]) {
    let mut set = nix::sched::CpuSet::new();
    for &core in cores {
        let _ = set.set(core);
    }
    let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
}

/// A child process that is killed when dropped.
#[derive(Debug)]
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `exe <args>` on the cores of `cpus`, a `taskset -c` list like `0` or `0,1` (when
/// `taskset` exists), stdout and stderr to `log`.
pub fn start(exe: &Path, cpus: &str, args: &[&str], env: &[(&str, String)], log: &Path) -> Proc {
    let mut command = if Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", cpus]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    command
        .args(args)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    Proc(command.spawn().expect("start the server"))
}

/// `ordertrail collect` (the binary at `exe`) on core 1 and a free loopback port, writing into
/// `dir` and logging to `dir/collector.log`; returns it and its OTLP endpoint
/// (`http://127.0.0.1:<port>`). It may take a moment to listen: wait for it, or export with
/// retries.
pub fn collector(exe: &Path, dir: &Path) -> (Proc, String) {
    let listen = format!("127.0.0.1:{}", crate::free_port());
    let out = dir.to_string_lossy().into_owned();
    let collector = start(
        exe,
        "1",
        &["collect", "--listen", &listen, "--out", &out],
        &[],
        &dir.join("collector.log"),
    );
    (collector, format!("http://{listen}"))
}

/// A listener that accepts connections and never answers: a black-holed collector.
pub fn black_hole() -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind(crate::loopback(0)).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(1_000).flatten() {
            held.push(conn);
        }
    });
    (addr, handle)
}

//! [`Child`]: one process of the real binary, SIGKILLed and reaped when dropped.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A running `ordertrail serve` process; its stdout and stderr go to files.
#[derive(Debug)]
pub struct Child {
    /// `gateway`, `orders`, `inventory` or `payments`.
    pub service: &'static str,
    /// Where it listens.
    pub port: u16,
    process: std::process::Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Child {
    /// Wraps a spawned process whose output goes to `stdout` and `stderr`.
    pub fn new(
        service: &'static str,
        port: u16,
        process: std::process::Child,
        stdout: PathBuf,
        stderr: PathBuf,
    ) -> Self {
        Self {
            service,
            port,
            process,
            stdout,
            stderr,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The file its stdout (JSON log lines) goes to.
    pub fn stdout_path(&self) -> &Path {
        &self.stdout
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.process.try_wait().ok().flatten()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) {
        if let Err(err) = kill(self.nix_pid(), signal) {
            panic!("cannot send {signal} to {}: {err}", self.service);
        }
    }

    /// Waits for the process to exit, checking every 20 ms; `None` if it still runs after
    /// `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        crate::poll(timeout, Duration::from_millis(20), || self.exited()).await
    }

    /// SIGKILLs the process unless it has exited, and reaps it.
    pub fn kill(&mut self) {
        if self.exited().is_none() {
            let _ = kill(self.nix_pid(), Signal::SIGKILL);
        }
        // Reaps it; after SIGKILL this returns at once.
        let _ = self.process.wait();
    }

    fn nix_pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.process.id()).expect("pid fits in i32"))
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

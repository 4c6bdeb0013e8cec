//! [`UpRun`]: `ordertrail up` on free ports in a directory of its own, for benchmarks that
//! drive the whole factory; stopped the way Ctrl-C stops it, also when the benchmark panics.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Consecutive ports an `up` run takes from its base: one per service, room to spare, and the
/// collector's last.
pub const UP_PORTS: u16 = 10;

/// A running `ordertrail up`, its services on consecutive free ports ([`UP_PORTS`]).
#[derive(Debug)]
pub struct UpRun {
    child: Option<Child>,
    base: u16,
    patience: Duration,
}

impl UpRun {
    /// Appends `up --base-port B --otlp-port O` and `args` to `command` (the binary, or a
    /// wrapper such as valgrind followed by the binary) and starts it in `dir`, its output in
    /// `dir/up.log`. `patience` bounds the wait for readiness and for the stop.
    pub fn start(mut command: Command, args: &[&str], dir: &Path, patience: Duration) -> Self {
        let base = free_base_port();
        let log = File::create(dir.join("up.log")).expect("up.log");
        let child = command
            .args(["up", "--base-port", &base.to_string()])
            .args(["--otlp-port", &(base + UP_PORTS - 1).to_string()])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("up.log"))
            .stderr(log)
            .spawn()
            .expect("start ordertrail up");
        Self {
            child: Some(child),
            base,
            patience,
        }
    }

    /// The gateway's base URL.
    pub fn gateway(&self) -> String {
        format!("http://127.0.0.1:{}", self.base)
    }

    /// The process id of `up` itself.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits until the gateway answers `GET /healthz` with 200; panics after the patience.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + self.patience;
        while Instant::now() < deadline {
            if healthz_ok(self.base) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "the gateway on port {} did not answer within {:?}",
            self.base, self.patience
        );
    }

    /// Sends SIGINT, like Ctrl-C, and waits for `up` to stop its services and exit.
    pub fn stop(mut self) -> ExitStatus {
        self.interrupt_and_wait()
    }

    fn interrupt_and_wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
        let _ = kill(pid, Signal::SIGINT);
        let deadline = Instant::now() + self.patience;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("wait for up") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        child.wait().expect("wait for up")
    }
}

impl Drop for UpRun {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.interrupt_and_wait();
        }
    }
}

/// [`UP_PORTS`] consecutive free ports; the first.
pub fn free_base_port() -> u16 {
    crate::free_port_run(UP_PORTS)
}

/// One `GET /healthz` on `port`: true on a 200 answer.
fn healthz_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = b"GET /healthz HTTP/1.1\r\nHost: up\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

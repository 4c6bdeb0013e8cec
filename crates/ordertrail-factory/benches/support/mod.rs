//! What the process benchmarks share: starting `ordertrail` processes pinned to a core, and a
//! closed-loop HTTP load generator pinned to the other.
//!
//! Fairness on a 2-core machine: the server runs under `taskset -c 0`, this process pins itself
//! to core 1, so the two never compete for a core. Every load loop is bounded by a deadline.

#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A child process that is killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ordertrail <args>` on `core` (when `taskset` exists), stdout and stderr to `log`.
pub fn start(core: usize, args: &[&str], env: &[(&str, String)], log: &Path) -> Proc {
    start_exe(
        env!("CARGO_BIN_EXE_ordertrail").into(),
        core,
        args,
        env,
        log,
    )
}

/// Starts `exe <args>` on `core` (when `taskset` exists), stdout and stderr to `log`.
pub fn start_exe(
    exe: std::path::PathBuf,
    core: usize,
    args: &[&str],
    env: &[(&str, String)],
    log: &Path,
) -> Proc {
    start_exe_on(exe, &core.to_string(), args, env, log)
}

/// Starts `exe <args>` on the cores of `cpus`, a `taskset -c` list like `0` or `0,1` (when
/// `taskset` exists), stdout and stderr to `log`.
pub fn start_exe_on(
    exe: std::path::PathBuf,
    cpus: &str,
    args: &[&str],
    env: &[(&str, String)],
    log: &Path,
) -> Proc {
    let mut command = if Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", cpus]).arg(&exe);
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
    Proc(command.spawn().expect("start ordertrail"))
}

/// Waits until `GET /healthz` on `addr` answers 2xx (at most 20 s).
pub async fn wait_ready(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let target = Target::get(addr, "/healthz");
    while Instant::now() < deadline {
        if drive(&target, 1, Duration::from_millis(1)).await.rps > 0.0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{addr} did not become ready");
}

/// What one load run measured.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failed: u64,
}

/// One request to send over and over: method, path and an optional JSON body.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
}

impl Target {
    pub fn get(addr: SocketAddr, path: &str) -> Self {
        Self {
            addr,
            method: "GET",
            path: path.to_owned(),
            body: None,
        }
    }

    fn request_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            self.method, self.path, self.addr
        );
        if let Some(body) = &self.body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            head.push_str("\r\n");
        }
        head.into_bytes()
    }
}

/// `connections` closed loops of `target` for `duration`, each on its own keep-alive
/// connection. The client is a minimal HTTP/1.1 writer and reader (a few microseconds per
/// request), so the server, not the generator, is what is measured.
pub async fn drive(target: &Target, connections: usize, duration: Duration) -> Run {
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let start = Instant::now();
    let request = Arc::new(target.request_bytes());
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, request, failed) = (target.addr, Arc::clone(&request), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            connection_loop(addr, &request, deadline, &failed).await
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("load task"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        let i = ((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1));
        all.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Run {
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        failed: failed.load(Ordering::Relaxed),
    }
}

/// One connection's loop; reconnects after an error. Returns the latencies of 2xx answers.
async fn connection_loop(
    addr: SocketAddr,
    request: &[u8],
    deadline: Instant,
    failed: &AtomicU64,
) -> Vec<Duration> {
    use tokio::io::AsyncWriteExt;
    let mut latencies = Vec::with_capacity(100_000);
    let mut buf = Vec::with_capacity(16 * 1024);
    'connect: while Instant::now() < deadline {
        let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
            failed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        while Instant::now() < deadline && latencies.len() < 5_000_000 {
            let t = Instant::now();
            if stream.write_all(request).await.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
                continue 'connect;
            }
            match read_response(&mut stream, &mut buf).await {
                Some(status) if (200..300).contains(&status) => latencies.push(t.elapsed()),
                Some(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    continue 'connect;
                }
            }
        }
        break;
    }
    latencies
}

/// Reads one response (head and `Content-Length` body); its status, or `None` on a broken
/// connection.
async fn read_response(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    use tokio::io::AsyncReadExt;
    buf.clear();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(status)
}

/// The median of `runs` by throughput.
pub fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    runs[runs.len() / 2]
}

/// A listener that accepts connections and never answers: a black-holed collector.
pub fn black_hole() -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().take(1_000).flatten() {
            held.push(conn);
        }
    });
    (addr, handle)
}

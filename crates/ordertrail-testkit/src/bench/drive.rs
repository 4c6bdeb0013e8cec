//! [`drive`]: closed loops of one request on keep-alive connections, each bounded by a
//! deadline, with a minimal HTTP/1.1 client so the server, not the generator, is measured.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Waits until `GET path` on `addr` answers 2xx (at most 20 s).
pub async fn wait_ready(addr: SocketAddr, path: &str) {
    let target = &Target::get(addr, path);
    let every = Duration::from_millis(50);
    let ready = crate::poll_async(Duration::from_secs(20), every, || async move {
        let run = drive(target, 1, Duration::from_millis(1)).await;
        (run.rps > 0.0).then_some(())
    });
    if ready.await.is_none() {
        panic!("{addr} did not become ready");
    }
}

/// What one load run measured.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Answered 2xx requests per second.
    pub rps: f64,
    /// The median latency of the 2xx answers, in milliseconds.
    pub p50_ms: f64,
    /// The 99th percentile of the same, in milliseconds.
    pub p99_ms: f64,
    /// Requests that failed: no connection, a broken one, or a status other than 2xx.
    pub failed: u64,
}

/// One request to send over and over: method, path and an optional JSON body.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The request method, such as `GET` or `POST`.
    pub method: &'static str,
    /// The request path.
    pub path: String,
    /// A JSON body, sent with its `Content-Length`.
    pub body: Option<String>,
}

impl Target {
    /// `GET path` on `addr`, without a body.
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

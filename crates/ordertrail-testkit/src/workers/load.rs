//! [`Load`]: closed loops of one request each, on their own connections, until stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// No loop runs longer than this, stopped or not.
const MAX_RUN: Duration = Duration::from_secs(60);

/// What one request did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When it was sent.
    pub started: Instant,
    /// `Ok(status)` or the transport error.
    pub result: Result<u16, String>,
}

impl Outcome {
    /// A 2xx answer.
    pub fn ok(&self) -> bool {
        matches!(self.result, Ok(200..=299))
    }
}

/// Request loops running in the background.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    loops: Vec<JoinHandle<Vec<Outcome>>>,
}

impl Load {
    /// `loops` loops of `GET url`. With `keep_alive`, each loop reuses one connection (its own
    /// client, like a pooled upstream); without, each request opens a new connection.
    pub fn start(url: &str, loops: usize, keep_alive: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let loops = (0..loops)
            .map(|_| {
                let (url, stop) = (url.to_owned(), Arc::clone(&stop));
                tokio::spawn(async move { run(&url, keep_alive, &stop).await })
            })
            .collect();
        Self { stop, loops }
    }

    /// Stops the loops; every request made, in the order each loop made them.
    pub async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for handle in self.loops {
            all.extend(handle.await.expect("load loop"));
        }
        all
    }
}

async fn run(url: &str, keep_alive: bool, stop: &AtomicBool) -> Vec<Outcome> {
    let client = load_client(keep_alive);
    let deadline = Instant::now() + MAX_RUN;
    let mut outcomes = Vec::new();
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let started = Instant::now();
        let result = match client.get(url).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(_) => Ok(status),
                    Err(err) => Err(format!("{err:?}")),
                }
            }
            Err(err) => Err(format!("{err:?}")),
        };
        outcomes.push(Outcome { started, result });
    }
    outcomes
}

/// A [`client`](crate::client), pooling connections with `keep_alive`, or opening a new
/// connection for each request without.
pub fn load_client(keep_alive: bool) -> reqwest::Client {
    let builder = crate::client_builder(crate::REQUEST_TIMEOUT);
    let builder = if keep_alive {
        builder
    } else {
        builder.pool_max_idle_per_host(0)
    };
    builder.build().expect("client builds")
}

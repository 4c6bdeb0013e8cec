//! [`run`]: the workers that place orders until the [`Pacer`] says the run is over.
//!
//! The workers are futures joined in the caller's task, not spawned tasks: they borrow the
//! client, the pacer and the progress callback, and each keeps its own [`Stats`], merged at
//! the end, so nothing is locked per order.

use std::future::Future;
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::watch;

use super::config::{LoadConfig, LoadConfigError};
use super::failure::{NoAnswer, failed};
use super::mix::OrderMix;
use super::pacer::Pacer;
use super::shipped::{self, MAX_SAMPLED};
use super::stats::{Outcome, Stats};
use super::summary::Summary;
use ordertrail::correlation::DEFAULT_HEADER;
use ordertrail::recorder::REPLAY_HEADER;

/// The run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A setting cannot work.
    #[error(transparent)]
    Config(#[from] LoadConfigError),
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// Orders were placed and none got an answer.
    #[error(transparent)]
    NoAnswer(#[from] NoAnswer),
}

/// Places orders as `config` says, calls `progress` after each, and stops early when `stop`
/// resolves (orders in flight still finish). Returns the summary of the run, or
/// [`LoadError::NoAnswer`] when orders were placed and none got an answer.
pub async fn run(
    config: &LoadConfig,
    progress: impl Fn(&Outcome),
    stop: impl Future<Output = ()>,
) -> Result<Summary, LoadError> {
    config.check()?;
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .pool_max_idle_per_host(config.concurrency)
        .build()
        .map_err(LoadError::Client)?;
    let (stopping, stopped) = watch::channel(false);
    let pacer = Pacer::new(config.order_limit(), config.duration, config.rate, stopped);
    let url = format!("{}/orders", config.gateway.trim_end_matches('/'));
    let mix = OrderMix::new(config);
    let started = Instant::now();
    let keep = match config.shipping {
        Some(_) => MAX_SAMPLED / config.concurrency.max(1),
        None => 0,
    };
    let workers = (0..config.concurrency).map(|n| {
        let worker = Worker {
            client: &client,
            url: &url,
            mix: &mix,
            rng: fastrand::Rng::with_seed(config.seed.wrapping_add(n as u64)),
            confirmed: Vec::new(),
            keep,
        };
        worker.run(&pacer, &progress)
    });
    let all = join_all(workers);
    tokio::pin!(all, stop);
    let (tallies, interrupted) = tokio::select! {
        tallies = &mut all => (tallies, false),
        () = &mut stop => {
            let _ = stopping.send(true);
            (all.await, true)
        }
    };
    let mut stats = Stats::default();
    let mut confirmed = Vec::new();
    for (tally, ids) in tallies {
        stats.merge(tally);
        confirmed.extend(ids);
    }
    if stats.answered() == 0 && stats.total() > 0 {
        return Err(no_answer(config, &stats).into());
    }
    let mut summary =
        Summary::new(&stats, started.elapsed()).asked(config.rate, config.concurrency);
    summary.interrupted = interrupted;
    if let Some(shipping) = &config.shipping {
        summary.order_to_shipped = Some(shipped::measure(&client, shipping, &confirmed).await);
    }
    Ok(summary)
}

fn no_answer(config: &LoadConfig, stats: &Stats) -> NoAnswer {
    NoAnswer {
        gateway: config.gateway.clone(),
        orders: stats.total(),
        failures: stats.by_status().clone(),
        cause: stats.cause().map(str::to_owned),
    }
}

/// One worker: one order at a time. It keeps the ids of its first `keep` confirmed orders,
/// for the order-to-shipped lookups after the run.
struct Worker<'a> {
    client: &'a reqwest::Client,
    url: &'a str,
    mix: &'a OrderMix,
    rng: fastrand::Rng,
    confirmed: Vec<String>,
    keep: usize,
}

impl Worker<'_> {
    async fn run(mut self, pacer: &Pacer, progress: &impl Fn(&Outcome)) -> (Stats, Vec<String>) {
        let mut stats = Stats::default();
        while pacer.next().await.is_some() {
            let outcome = self.place().await;
            stats.record(&outcome);
            progress(&outcome);
        }
        (stats, self.confirmed)
    }

    async fn place(&mut self) -> Outcome {
        let order = self.mix.next(&mut self.rng);
        let started = Instant::now();
        let sent = self.client.post(self.url).json(&order).send().await;
        let res = match sent {
            Ok(res) => res,
            Err(err) => return failed(&err, started),
        };
        let status = res.status().as_u16();
        let request_id = res
            .headers()
            .get(DEFAULT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let replay = res
            .headers()
            .get(REPLAY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match res.bytes().await {
            Ok(body) => body,
            Err(err) => return failed(&err, started),
        };
        if status == 201 && self.confirmed.len() < self.keep {
            self.confirmed.extend(order_id(&body));
        }
        Outcome {
            request_id,
            status: Some(status),
            failure: None,
            cause: None,
            latency: started.elapsed(),
            replay,
        }
    }
}

/// The `order_id` of a confirmed order's answer.
fn order_id(body: &[u8]) -> Option<String> {
    let order: serde_json::Value = serde_json::from_slice(body).ok()?;
    order["order_id"].as_str().map(str::to_owned)
}

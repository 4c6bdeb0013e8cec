//! `ordertrail serve <service>`: bind, serve until Ctrl-C or SIGTERM, drain, flush telemetry.
//! With `--workers N` this process is a master instead ([`super::master`]), and the processes it
//! starts are its workers ([`super::worker`]).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ordertrail::telemetry::{self, TelemetryError, TelemetryGuard};
use ordertrail::web::{serve, shutdown_signal};
use ordertrail_factory::services::build_router;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::config::{Process, ServeConfig, env};

/// How long in-flight requests may take to finish after a stop signal.
pub(crate) const DRAIN_WITHIN: Duration = Duration::from_secs(10);

/// How long telemetry may take to flush at exit.
const FLUSH_WITHIN: Duration = Duration::from_secs(5);

pub(crate) fn run(config: ServeConfig) -> anyhow::Result<ExitCode> {
    match config.process {
        Process::Single => {
            exit_with_parent()?;
            run_single(config)
        }
        Process::Master { workers } => {
            exit_with_parent()?;
            super::master::run(&config, workers)
        }
        Process::Worker(fds) => super::worker::run(&config, fds),
    }
}

/// Started by `ordertrail up` (which names itself in [`env::PARENT_PID`]): asks the kernel for
/// SIGTERM when `up` dies, even by SIGKILL, so no service outlives it. Then checks `up` did not
/// die before the request was made.
fn exit_with_parent() -> anyhow::Result<()> {
    let Some(parent) = std::env::var(env::PARENT_PID)
        .ok()
        .and_then(|pid| pid.parse::<i32>().ok())
    else {
        return Ok(());
    };
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
        .context("cannot ask to be stopped with `ordertrail up`")?;
    if nix::unistd::getppid().as_raw() != parent {
        anyhow::bail!("`ordertrail up` (pid {parent}) is gone; not starting");
    }
    Ok(())
}

/// One process, a multi-thread runtime (no `--workers`).
fn run_single(config: ServeConfig) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let guard = start_telemetry(&runtime, &config)?;
    let result = runtime.block_on(serve_until_stopped(&config));
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "service stopped on an error");
    }
    flush(&runtime, guard);
    result.map(|()| ExitCode::SUCCESS)
}

async fn serve_until_stopped(config: &ServeConfig) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let router = with_metrics(
        build_router(config.service, &config.peers, &config.options)?,
        config,
    );
    tracing::info!(listen = %config.listen, "listening");
    let (stopping, stopped) = oneshot::channel();
    let signal = async move {
        shutdown_signal().await;
        tracing::info!("stop signal: no new connections, finishing in-flight requests");
        let _ = stopping.send(());
    };
    let server = serve(listener, router, signal);
    tokio::select! {
        served = server => served?,
        () = drain_deadline(stopped) => {
            tracing::warn!(after = ?DRAIN_WITHIN, "in-flight requests did not finish in time; stopping anyway");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// `router` with `GET /metrics` (this process's registry) merged in after the request
/// middleware, so scrapes make no span, log line or sample of their own. With `--workers`, each
/// worker answers with its own registry: a scrape of the shared port reaches one of them.
pub(crate) fn with_metrics(router: axum::Router, config: &ServeConfig) -> axum::Router {
    match &config.telemetry.metrics {
        Some(metrics) => router.merge(ordertrail::metrics::router(metrics.clone())),
        None => router,
    }
}

/// Resolves [`DRAIN_WITHIN`] after the stop signal; never without one.
pub(crate) async fn drain_deadline(stopped: oneshot::Receiver<()>) {
    if stopped.await.is_err() {
        return std::future::pending().await;
    }
    tokio::time::sleep(DRAIN_WITHIN).await;
}

/// Flushes telemetry off the runtime's worker threads, so the exporter can still use them.
/// Starts this process's telemetry inside `runtime`: the gRPC exporter spawns its connection
/// there when it is built, and needs it for as long as it exports.
pub(crate) fn start_telemetry(
    runtime: &Runtime,
    config: &ServeConfig,
) -> Result<TelemetryGuard, TelemetryError> {
    let _entered = runtime.enter();
    telemetry::init(&config.telemetry)
}

pub(crate) fn flush(runtime: &Runtime, guard: TelemetryGuard) {
    for err in runtime.block_on(guard.shutdown_within(FLUSH_WITHIN)) {
        eprintln!("ordertrail: {:#}", anyhow::Error::from(err));
    }
}

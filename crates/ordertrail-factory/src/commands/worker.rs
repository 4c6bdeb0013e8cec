//! A worker of `ordertrail serve <service> --workers N`: one process, one event loop (a
//! current-thread runtime), serving on the socket its master bound.
//!
//! It exits 0 after draining, or [`BOOT_FAILED`] when it cannot start serving, so a master
//! whose workers all fail at boot stops instead of restarting them forever.

use std::process::ExitCode;

use anyhow::Context;
use ordertrail::web::shutdown_signal;
use ordertrail_factory::services::build_router;
use ordertrail_supervisor::{BOOT_FAILED, Inherited, follow_master, serve_worker};
use tokio::sync::oneshot;

use super::serve::{DRAIN_WITHIN, drain_deadline, flush, start_telemetry, with_metrics};
use crate::config::{ServeConfig, WorkerFds};

/// Why a worker stopped early.
enum Failure {
    /// Before it accepted a connection.
    Boot(anyhow::Error),
    /// While serving.
    Serve(anyhow::Error),
}

pub(crate) fn run(config: &ServeConfig, fds: WorkerFds) -> anyhow::Result<ExitCode> {
    let boot_failed = |err: anyhow::Error| {
        eprintln!("ordertrail: worker {}: {err:#}", fds.index);
        Ok(ExitCode::from(BOOT_FAILED))
    };
    if let Err(err) = follow_master() {
        return boot_failed(err.into());
    }
    let inherited = match Inherited::from_raw_fds(fds.listen_fd, fds.ready_fd) {
        Ok(inherited) => inherited,
        Err(err) => return boot_failed(err.into()),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return boot_failed(err.into()),
    };
    let guard = match start_telemetry(&runtime, config) {
        Ok(guard) => guard,
        Err(err) => return boot_failed(err.into()),
    };
    let result = runtime.block_on(serve(config, inherited));
    let code = match &result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Boot(err)) => {
            tracing::error!(error = format!("{err:#}"), "worker failed to boot");
            ExitCode::from(BOOT_FAILED)
        }
        Err(Failure::Serve(err)) => {
            tracing::error!(error = format!("{err:#}"), "worker stopped on an error");
            ExitCode::FAILURE
        }
    };
    // On a current-thread runtime the flush must run on a blocking thread (see `flush`).
    flush(&runtime, guard);
    Ok(code)
}

async fn serve(config: &ServeConfig, inherited: Inherited) -> Result<(), Failure> {
    let router = build_router(config.service, &config.peers, &config.options)
        .map_err(|err| Failure::Boot(err.into()))?;
    let router = with_metrics(router, config);
    let (listener, ready) = inherited
        .into_parts()
        .context("cannot use the inherited socket")
        .map_err(Failure::Boot)?;
    let (stopping, stopped) = oneshot::channel();
    let signal = async move {
        shutdown_signal().await;
        tracing::info!("stop signal: no new connections, finishing in-flight requests");
        let _ = stopping.send(());
    };
    tracing::info!(listen = %config.listen, "worker accepting");
    let server = serve_worker(listener, ready, router, signal);
    tokio::select! {
        served = server => served.context("serving failed").map_err(Failure::Serve)?,
        () = drain_deadline(stopped) => {
            tracing::warn!(after = ?DRAIN_WITHIN, "in-flight requests did not finish in time; stopping anyway");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

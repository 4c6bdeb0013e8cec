//! The master of `ordertrail serve <service> --workers N`: binds the port, starts N workers
//! (this binary again, with the same arguments and the inherited socket), supervises them,
//! and serves nothing itself. Its own log lines say what happens to the workers.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ordertrail_factory::services::ServiceName;
use ordertrail_supervisor::{Master, MasterConfig, WorkerCommand, bind_inheritable};

use super::serve::{flush, start_telemetry};
use crate::config::ServeConfig;

/// How long workers may drain after SIGTERM before they are killed (`up` waits longer for a
/// master to stop).
pub(crate) const STOP_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) fn run(config: &ServeConfig, workers: usize) -> anyhow::Result<ExitCode> {
    // One thread is plenty: the master only waits for signals and children.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let guard = start_telemetry(&runtime, config)?;
    let result = runtime.block_on(supervise(config, workers));
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "master stopped on an error");
    }
    flush(&runtime, guard);
    result
}

async fn supervise(config: &ServeConfig, workers: usize) -> anyhow::Result<ExitCode> {
    // Bound before any worker starts: a busy port fails here, with nothing to clean up.
    let listener = bind_inheritable(config.listen)?;
    if config.service == ServiceName::Inventory && workers > 1 {
        tracing::warn!(
            workers,
            "inventory keeps its stock in memory: each worker has its own stock and reservations"
        );
    }
    let command = WorkerCommand {
        program: std::env::current_exe().context("cannot find the ordertrail binary")?,
        args: std::env::args_os().skip(1).collect(),
    };
    tracing::info!(listen = %config.listen, workers, "master listening; starting workers");
    let master_config = MasterConfig::new(workers, command).stop_timeout(STOP_TIMEOUT);
    let stopped = Master::new(master_config, listener).run().await?;
    Ok(if stopped.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

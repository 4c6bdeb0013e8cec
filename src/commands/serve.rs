//! `ordertrail serve <service>`: bind, serve until Ctrl-C or SIGTERM, drain, flush logs.

use std::process::ExitCode;

use anyhow::Context;
use ordertrail::services::build_router;
use ordertrail::telemetry;
use ordertrail::web::{serve, shutdown_signal};
use tokio::net::TcpListener;

use crate::config::ServeConfig;

pub(crate) fn run(config: ServeConfig) -> anyhow::Result<ExitCode> {
    let guard = telemetry::init(&config.telemetry)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let result = runtime.block_on(serve_until_stopped(&config));
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "service stopped on an error");
    }
    drop(runtime);
    guard.shutdown();
    result.map(|()| ExitCode::SUCCESS)
}

async fn serve_until_stopped(config: &ServeConfig) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let router = build_router(config.service, &config.peers, &config.options)?;
    tracing::info!(listen = %config.listen, "listening");
    serve(listener, router, shutdown_signal()).await?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

//! `ordertrail collect`: the embedded OTLP collector, until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use anyhow::Context;
use ordertrail::web::shutdown_signal;
use ordertrail_collector::{Collector, CollectorConfig, LOGS_FILE, TRACES_FILE};
use tokio::net::TcpListener;

use crate::cli::CollectArgs;

pub(crate) fn run(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(collect(args))
}

async fn collect(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let collector = start(args).await?;
    println!(
        "ordertrail: collecting OTLP (gRPC and HTTP/protobuf) on {}; writing {} and {}",
        collector.addr(),
        args.out.join(TRACES_FILE).display(),
        args.out.join(LOGS_FILE).display()
    );
    shutdown_signal().await;
    let counts = collector.received().counts();
    collector.shutdown().await?;
    println!(
        "ordertrail: received {} spans and {} log records",
        counts.spans, counts.log_records
    );
    Ok(ExitCode::SUCCESS)
}

/// Binds and starts a collector writing to `args.out`; shared with `ordertrail up`.
pub(crate) async fn start(args: &CollectArgs) -> anyhow::Result<Collector> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen for OTLP on {}", args.listen))?;
    let config = CollectorConfig::in_memory()
        .keep_in_memory(false)
        .out_dir(&args.out);
    Ok(Collector::start(listener, config).await?)
}

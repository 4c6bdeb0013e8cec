//! `ordertrail collect`: the embedded OTLP collector, until Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ordertrail::web::shutdown_signal;
use ordertrail_collector::{Collector, CollectorConfig, LOGS_FILE, Received, TRACES_FILE};
use tokio::net::TcpListener;

use crate::cli::CollectArgs;

/// How often write failures (a full disk) are looked for and reported on stderr.
const REPORT_FAILURES_EVERY: Duration = Duration::from_secs(5);

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

/// Binds and starts a collector writing to `args.out`, with its write failures reported on
/// stderr; shared with `ordertrail up`.
pub(crate) async fn start(args: &CollectArgs) -> anyhow::Result<Collector> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen for OTLP on {}", args.listen))?;
    let config = CollectorConfig::in_memory()
        .keep_in_memory(false)
        .out_dir(&args.out);
    let collector = Collector::start(listener, config).await?;
    tokio::spawn(report_write_failures(
        collector.received(),
        args.out.clone(),
    ));
    Ok(collector)
}

/// Prints a line on stderr whenever requests could not be written since the last look (at most
/// every [`REPORT_FAILURES_EVERY`]). The commands install no tracing subscriber, so this is
/// the only place a full disk shows; the exporters were answered "retry later".
async fn report_write_failures(received: Received, out: std::path::PathBuf) {
    let mut reported = 0;
    let mut ticks = tokio::time::interval(REPORT_FAILURES_EVERY);
    loop {
        ticks.tick().await;
        let failures = received.counts().write_failures;
        if failures > reported {
            eprintln!(
                "ordertrail: {} export requests could not be written to {} (disk full?); \
                 exporters were asked to retry ({failures} since start)",
                failures - reported,
                out.display()
            );
            reported = failures;
        }
    }
}

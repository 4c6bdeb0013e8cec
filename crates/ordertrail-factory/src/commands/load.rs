//! `ordertrail load`: places orders through the gateway and reports latency and statuses.
//!
//! A progress bar runs on a terminal (hidden otherwise); Ctrl-C or SIGTERM ends the run early
//! and still prints the summary. Exit code 1 when no order got an answer.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ordertrail_factory::load::{LoadConfig, Outcome, run as run_load};
use ordertrail::web::shutdown_signal;

use crate::cli::LoadArgs;

pub(crate) fn run(args: &LoadArgs) -> anyhow::Result<ExitCode> {
    let config = config(args);
    config.check()?;
    let bar = progress_bar(&config);
    let summary = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(run_load(
            &config,
            |o| advance(&bar, &config, o),
            shutdown_signal(),
        ))?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.to_text());
    }
    if summary.answered == 0 {
        eprintln!(
            "ordertrail: no order got an answer from {} (is `ordertrail up` running?)",
            config.gateway
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn config(args: &LoadArgs) -> LoadConfig {
    let mut config = LoadConfig::new(&args.gateway)
        .concurrency(args.concurrency)
        .decline_rate(args.decline_rate)
        .max_orders(args.max_orders)
        .timeout(args.timeout);
    if let Some(n) = args.orders {
        config = config.orders(n);
    }
    if let Some(d) = args.duration {
        config = config.duration(d);
    }
    if let Some(rate) = args.rate {
        config = config.rate(rate);
    }
    if let Some(seed) = args.seed {
        config = config.seed(seed);
    }
    config
}

/// Counts orders when the run has a count, seconds when it only has a duration.
fn progress_bar(config: &LoadConfig) -> ProgressBar {
    let timed = config.orders.is_none() && config.duration.is_some();
    let length = match config.duration {
        Some(d) if timed => d.as_secs().max(1),
        _ => config.order_limit(),
    };
    let bar = ProgressBar::with_draw_target(Some(length), draw_target());
    let template = if timed {
        "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} s {msg}"
    } else {
        "{spinner} {pos}/{len} orders [{bar:30}] {per_sec} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message(String::new());
    bar
}

fn draw_target() -> ProgressDrawTarget {
    if std::io::stdout().is_terminal() {
        ProgressDrawTarget::stdout()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn advance(bar: &ProgressBar, config: &LoadConfig, outcome: &Outcome) {
    if config.orders.is_none() && config.duration.is_some() {
        bar.set_position(bar.elapsed().as_secs());
    } else {
        bar.inc(1);
    }
    if outcome.status.is_none_or(|s| !(200..300).contains(&s)) {
        bar.set_message(format!("last: {}", outcome.key()));
    }
}

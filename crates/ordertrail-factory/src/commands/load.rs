//! `ordertrail load`: places orders through the gateway and reports latency and statuses.
//!
//! A progress bar runs on stderr when it is a terminal (hidden otherwise). Early in a run with
//! `--rate` it warns when `--concurrency` cannot reach that rate. Ctrl-C or SIGTERM ends the
//! run early, clears the bar, prints the summary and exits 130 (143 for SIGTERM). When no
//! order got an answer it prints what failed instead of a summary and exits 1. With
//! `--prometheus URL` the summary ends with the p50/p99 Prometheus computed for the same window
//! (or why it could not), beside the run's own.

use std::cell::{Cell, RefCell};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike};
use ordertrail_factory::load::{
    LoadConfig, LoadError, Outcome, PrometheusError, PrometheusLatency, RateProbe, Summary,
    format_rate, prometheus_latency, run as run_load,
};
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::LoadArgs;

pub(crate) fn run(args: &LoadArgs) -> anyhow::Result<ExitCode> {
    let config = config(args);
    config.check()?;
    let placed = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(&config, &placed);
    let probe = RefCell::new(RateProbe::new(config.rate, config.concurrency));
    let caught = Cell::new(None);
    let runtime = runtime()?;
    let result = runtime.block_on(run_load(
        &config,
        |o| on_outcome(&bar, &config, &placed, &probe, o),
        interrupted(&caught),
    ));
    bar.finish_and_clear();
    let summary = match result {
        Ok(summary) => summary.follow_with(&super::invocation()),
        Err(LoadError::NoAnswer(err)) => {
            eprintln!("ordertrail: {err}");
            return Ok(caught.get().unwrap_or(ExitCode::FAILURE));
        }
        Err(err) => return Err(err.into()),
    };
    let ended = SystemTime::now();
    let prometheus = args.prometheus.as_deref().map(|url| {
        let elapsed = Duration::from_secs_f64(summary.elapsed_s);
        runtime.block_on(prometheus_latency(url, ended, elapsed))
    });
    report(&summary, args.json, prometheus.as_ref())?;
    Ok(caught.get().unwrap_or(ExitCode::SUCCESS))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
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
    if let Some(shipping) = &args.shipping {
        config = config.shipping(shipping);
    }
    config
}

/// Prints the summary and Prometheus's view; with `--json`, a rate well under the asked one
/// also goes to stderr.
fn report(
    summary: &Summary,
    json: bool,
    prometheus: Option<&Result<PrometheusLatency, PrometheusError>>,
) -> anyhow::Result<()> {
    if !json {
        print!("{}", summary.to_text());
        if let Some(prometheus) = prometheus {
            println!("{}", prometheus_line(summary, prometheus));
        }
        return Ok(());
    }
    let mut doc = serde_json::to_value(summary)?;
    if let Some(prometheus) = prometheus {
        doc["prometheus"] = match prometheus {
            Ok(latency) => serde_json::to_value(latency)?,
            Err(err) => serde_json::json!({ "error": error_chain(err) }),
        };
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    if let Some(shortfall) = summary.shortfall() {
        eprintln!("ordertrail: warning: {shortfall}");
    }
    Ok(())
}

/// Prometheus's percentiles beside the run's own, or why there are none.
fn prometheus_line(
    summary: &Summary,
    prometheus: &Result<PrometheusLatency, PrometheusError>,
) -> String {
    let own = &summary.latency_ms;
    match prometheus {
        Ok(p) => format!(
            "prometheus p50 {:.2} ms   p99 {:.2} ms   (gateway histogram over the last {} s; this run: p50 {:.2} ms   p99 {:.2} ms)",
            p.p50_ms, p.p99_ms, p.window_s, own.p50, own.p99
        ),
        Err(err) => format!("prometheus {}", error_chain(err)),
    }
}

/// `err` and its sources, joined by `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Resolves on Ctrl-C (noting exit code 130 in `caught`) or SIGTERM (143).
async fn interrupted(caught: &Cell<Option<ExitCode>>) {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    let code = tokio::select! {
        _ = int.recv() => 130,
        _ = term.recv() => 143,
    };
    caught.set(Some(ExitCode::from(code)));
}

fn on_outcome(
    bar: &ProgressBar,
    config: &LoadConfig,
    placed: &AtomicU64,
    probe: &RefCell<RateProbe>,
    outcome: &Outcome,
) {
    placed.fetch_add(1, Ordering::Relaxed);
    advance(bar, config, outcome);
    let reach = probe.borrow_mut().observe(outcome.latency, bar.elapsed());
    if let Some(warning) = reach.and_then(|r| r.warning()) {
        bar.suspend(|| eprintln!("ordertrail: warning: {warning}"));
    }
}

fn advance(bar: &ProgressBar, config: &LoadConfig, outcome: &Outcome) {
    if timed(config) {
        bar.set_position(bar.elapsed().as_secs());
    } else {
        bar.inc(1);
    }
    if outcome.status.is_none_or(|s| !(200..300).contains(&s)) {
        bar.set_message(format!("last: {}", outcome.key()));
    }
}

/// Whether the bar counts seconds (a run with only a duration) rather than orders.
fn timed(config: &LoadConfig) -> bool {
    config.orders.is_none() && config.duration.is_some()
}

fn progress_bar(config: &LoadConfig, placed: &Arc<AtomicU64>) -> ProgressBar {
    let length = match config.duration {
        Some(d) if timed(config) => d.as_secs().max(1),
        _ => config.order_limit(),
    };
    let bar = ProgressBar::with_draw_target(Some(length), draw_target());
    let template = if timed(config) {
        "{spinner} {elapsed_precise} [{bar:20}] {pos}/{len} s  {rate}  {msg}"
    } else {
        "{spinner} {pos}/{len} orders [{bar:20}] {rate}  {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        let placed = Arc::clone(placed);
        let rate = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let seconds = state.elapsed().as_secs_f64().max(1e-3);
            let _ = w.write_str(&format_rate(
                placed.load(Ordering::Relaxed) as f64 / seconds,
            ));
        };
        bar.set_style(style.progress_chars("=> ").with_key("rate", rate));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message(String::new());
    bar
}

fn draw_target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::term_like_with_hz(Box::new(Narrow(console::Term::stderr())), 10)
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// The terminal, two columns narrower than it is.
///
/// indicatif pads the bar's line to the terminal's width. When Ctrl-C is pressed the terminal
/// echoes `^C` after it, which then wraps onto a new line, and clearing the bar would clear
/// only that one, leaving a frozen bar above the summary. Two spare columns keep the echo on
/// the bar's line, so clearing the line clears both.
#[derive(Debug)]
struct Narrow(console::Term);

impl TermLike for Narrow {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(2).max(1)
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }

    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

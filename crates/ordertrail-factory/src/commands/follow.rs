//! `ordertrail follow <request-id>`: one order's journey across the services, as a waterfall
//! of its spans with their log lines, or as one JSON document (`--json`).
//!
//! Services export spans in batches about once a second, so right after an order some are
//! not there yet: `follow` reads the sources again every [`POLL`] until the journey is
//! [settled](Settled) or `--wait` (5 s by default) has passed, with a spinner on stderr when
//! stderr is a terminal. An id that nothing carries is reported at once, without waiting: the
//! services write their log lines while they serve the request, before the client has the id.
//!
//! Exit code 0 when something was found, 1 when nothing carries the id.

use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::ColorChoice;
use indicatif::ProgressBar;
use ordertrail_factory::journey::{
    Bars, DEFAULT_WIDTH, Jaeger, Journey, LocalFiles, Loki, RenderOptions, Settled, Sources,
    TimeWindow, render, to_json,
};

use crate::cli::FollowArgs;

/// How often the sources are read again while waiting.
const POLL: Duration = Duration::from_millis(250);
/// Turns colour off when set and not empty (<https://no-color.org>).
const NO_COLOR: &str = "NO_COLOR";
/// The terminal's width as the shell says, when the terminal itself does not answer.
const COLUMNS: &str = "COLUMNS";

pub(crate) fn run(args: &FollowArgs) -> anyhow::Result<ExitCode> {
    let (journey, settled) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(gather(args))?;
    if journey.is_empty() {
        eprintln!("ordertrail: {}", not_found(args));
        return Ok(ExitCode::FAILURE);
    }
    if let Settled::Waiting(services) = &settled {
        eprintln!("ordertrail: {}", incomplete(services, args.wait));
    }
    let text = if args.json {
        format!("{}\n", to_json(&journey))
    } else {
        render(&journey, render_options(args))
    };
    print_out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
pub(crate) fn print_out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(err).context("cannot write to stdout"))
        }
        _ => Ok(()),
    }
}

/// The journey once settled, or as it is when the wait is over.
async fn gather(args: &FollowArgs) -> anyhow::Result<(Journey, Settled)> {
    let sources = sources(args)?;
    let spinner = Spinner::new(args.wait);
    let started = Instant::now();
    loop {
        let journey = sources.follow(&args.request_id).await?;
        let settled = journey.settled();
        let waited = started.elapsed();
        let limit = match settled {
            Settled::Waiting(_) => args.wait,
            _ => Duration::ZERO,
        };
        if waited >= limit {
            spinner.finish();
            return Ok((journey, settled));
        }
        spinner.show(&settled);
        tokio::time::sleep(POLL.min(limit - waited)).await;
    }
}

fn sources(args: &FollowArgs) -> anyhow::Result<Sources> {
    let window = TimeWindow::last(args.since, SystemTime::now());
    let mut sources = Sources::local(LocalFiles::new(&args.log_dir), window);
    if let Some(url) = &args.jaeger {
        sources = sources.jaeger(Jaeger::new(url)?);
    }
    if let Some(url) = &args.loki {
        sources = sources.loki(Loki::new(url)?);
    }
    Ok(sources)
}

/// A spinner on stderr while waiting, only when stderr is a terminal.
struct Spinner(Option<ProgressBar>);

impl Spinner {
    fn new(wait: Duration) -> Self {
        if wait.is_zero() || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new_spinner().with_message("waiting for spans");
        bar.enable_steady_tick(Duration::from_millis(100));
        Self(Some(bar))
    }

    fn show(&self, settled: &Settled) {
        if let (Some(bar), Settled::Waiting(services)) = (&self.0, settled) {
            bar.set_message(format!("waiting for spans of {}", services.join(", ")));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn incomplete(services: &[String], wait: Duration) -> String {
    let services = services.join(", ");
    if wait.is_zero() {
        return format!(
            "spans of {services} had not arrived (services export them about once a second); \
             run it again, or leave out --wait 0"
        );
    }
    format!(
        "spans of {services} had not arrived after {}; the journey may be incomplete \
         (run it again, or give --wait more time)",
        humantime::format_duration(wait)
    )
}

fn not_found(args: &FollowArgs) -> String {
    let spans = match &args.jaeger {
        Some(url) => format!(
            "Jaeger at {url} (last {})",
            humantime::format_duration(args.since)
        ),
        None => LocalFiles::new(&args.log_dir)
            .spans_file()
            .display()
            .to_string(),
    };
    let logs = match &args.loki {
        Some(url) => format!("Loki at {url}"),
        None => format!("the log files in {}", args.log_dir.display()),
    };
    format!(
        "no span or log line carries request id {:?} in {spans} or {logs}",
        args.request_id
    )
}

/// Colour and block bars on a terminal (colour unless `NO_COLOR` is set), or as `--color`
/// says; the terminal's width, or `--width`.
fn render_options(args: &FollowArgs) -> RenderOptions {
    let terminal = std::io::stdout().is_terminal();
    let no_colour = std::env::var_os(NO_COLOR).is_some_and(|v| !v.is_empty());
    let (colour, blocks) = match args.color {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        _ => (terminal && !no_colour, terminal),
    };
    let width = args
        .width
        .map(usize::from)
        .or_else(|| terminal.then(terminal_width).flatten());
    RenderOptions::default()
        .colour(colour)
        .bars(if blocks { Bars::Blocks } else { Bars::Ascii })
        .width(width.unwrap_or(DEFAULT_WIDTH))
}

/// The width of the terminal on stdout, or `COLUMNS` when it does not say.
///
/// `console` (already here for the progress bars of `load`, through indicatif) asks the
/// terminal with the `TIOCGWINSZ` ioctl behind a safe function: this crate denies unsafe code.
fn terminal_width() -> Option<usize> {
    let asked = console::Term::stdout()
        .size_checked()
        .map(|(_rows, cols)| usize::from(cols));
    let told = || std::env::var(COLUMNS).ok()?.trim().parse().ok();
    asked.filter(|w| *w > 0).or_else(told)
}

//! `ordertrail follow <request-id>`: one order's journey across the services, as a waterfall
//! of its spans with their log lines, or as one JSON document (`--json`).
//!
//! Exit code 0 when something was found, 1 when nothing carries the id.

use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use ordertrail_factory::journey::{
    Jaeger, Journey, LocalFiles, Loki, RenderOptions, Sources, TimeWindow, render, to_json,
};

use crate::cli::FollowArgs;

pub(crate) fn run(args: &FollowArgs) -> anyhow::Result<ExitCode> {
    let journey = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(gather(args))?;
    if journey.is_empty() {
        eprintln!("ordertrail: {}", not_found(args));
        return Ok(ExitCode::FAILURE);
    }
    let text = if args.json {
        format!("{}\n", to_json(&journey))
    } else {
        render(&journey, render_options())
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

async fn gather(args: &FollowArgs) -> anyhow::Result<Journey> {
    let window = TimeWindow::last(args.since, SystemTime::now());
    let mut sources = Sources::local(LocalFiles::new(&args.log_dir), window);
    if let Some(url) = &args.jaeger {
        sources = sources.jaeger(Jaeger::new(url)?);
    }
    if let Some(url) = &args.loki {
        sources = sources.loki(Loki::new(url)?);
    }
    Ok(sources.follow(&args.request_id).await?)
}

fn not_found(args: &FollowArgs) -> String {
    let spans = match &args.jaeger {
        Some(url) => format!(
            "Jaeger at {url} (last {})",
            humantime::format_duration(args.since)
        ),
        None => format!("{}/traces.jsonl", args.log_dir.display()),
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

/// Colour on a terminal, unless `NO_COLOR` is set.
fn render_options() -> RenderOptions {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    RenderOptions {
        colour: std::io::stdout().is_terminal() && !no_colour,
    }
}

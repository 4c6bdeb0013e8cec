//! The `ordertrail` binary.
//!
//! Run with
//! ```text
//! cargo run --release -- up                 # all five services, logs in logs/<service>.jsonl
//! cargo run --release -- order              # place one order, print its request id
//! cargo run --release -- serve gateway      # one service (see --help for every flag)
//! cargo run --release -- collect            # the embedded OTLP collector alone
//! cargo run --release -- follow <id>        # one order's journey: spans and log lines
//! cargo run --release -- load --orders 500   # place orders, report latency and statuses
//! ```
//! Each subcommand builds its own runtime: `serve` and `up` a multi-thread one, `order` a
//! current-thread one.

mod cli;
mod commands;
mod config;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ordertrail: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Serve(args) => commands::serve::run(args.try_into()?),
        Command::Up(args) => commands::up::run(&args),
        Command::Order(args) => commands::order::run(&args),
        Command::Collect(args) => commands::collect::run(&args),
        Command::Follow(args) => commands::follow::run(&args),
        Command::Load(args) => commands::load::run(&args),
        Command::Health(args) => commands::health::run(&args),
    }
}

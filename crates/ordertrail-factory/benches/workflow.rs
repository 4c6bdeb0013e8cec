//! Instructions per order, the whole factory: `ordertrail up` with every child under
//! `valgrind --tool=callgrind --trace-children=yes` (all threads, user space), exporting to its
//! embedded collector, while `ordertrail load` (not under valgrind) places a fixed number of
//! orders.
//!
//! Each run counts start-up and shutdown too, so `up` runs twice, with [`FEW`] and [`MANY`]
//! orders; the cost of one order is the difference over the extra orders, per process and in
//! all. After the load, the run waits [`SETTLE`] so the outbox relay delivers what it holds to
//! shipping before `up` stops; the relay's polls during that wait are the same in both runs.
//!
//! Run with `cargo bench --bench workflow` (needs `apt-get install valgrind`; about 6 minutes);
//! `-- --sdk-disabled` runs the services with `OTEL_SDK_DISABLED=true` (no spans, no OTLP log
//! records or metrics exported; JSON lines still written), to tell the telemetry's share.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ordertrail_testkit::bench::{UpRun, callgrind};
use ordertrail_testkit::{Binary, binary};

/// Orders of the shorter run.
const FEW: u64 = 100;

/// Orders of the longer run.
const MANY: u64 = 400;

/// How long the services under valgrind may take to start, and `up` to stop.
const PATIENCE: Duration = Duration::from_secs(240);

/// Time for the relay to hand the last orders to shipping before `up` stops.
const SETTLE: Duration = Duration::from_secs(5);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sdk_disabled = std::env::args().any(|a| a == "--sdk-disabled");
    let ordertrail = binary!();
    let few = count(&ordertrail, FEW, sdk_disabled);
    let many = count(&ordertrail, MANY, sdk_disabled);
    report(&few, &many);
}

/// Instructions per process (named by what it runs) for `up` serving `orders` orders.
fn count(ordertrail: &Binary, orders: u64, sdk_disabled: bool) -> BTreeMap<String, u64> {
    let dir = ordertrail.fresh_dir("workflow-instructions");
    let mut valgrind = Command::new("valgrind");
    valgrind
        .args([
            "--tool=callgrind",
            "--trace-children=yes",
            "--collect-systime=no",
        ])
        .arg(format!(
            "--callgrind-out-file={}/callgrind.%p",
            dir.display()
        ))
        .arg(ordertrail.path());
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("OTEL_") || text.starts_with("ORDERTRAIL_") || text == "RUST_LOG" {
            valgrind.env_remove(&name);
        }
    }
    if sdk_disabled {
        valgrind.env("OTEL_SDK_DISABLED", "true");
    }
    let up = UpRun::start(valgrind, &[], &dir, PATIENCE);
    up.wait_ready();
    place(ordertrail, &dir, &up.gateway(), orders);
    std::thread::sleep(SETTLE);
    let status = up.stop();
    assert!(status.success(), "up under callgrind: {status}");
    let counts = per_process(&dir);
    eprintln!("{orders} orders: {counts:?}");
    counts
}

/// `ordertrail load` placing exactly `orders` orders, four in flight; panics unless all were
/// answered.
fn place(ordertrail: &Binary, dir: &Path, gateway: &str, orders: u64) {
    let output = ordertrail
        .command()
        .args(["load", "--json", "--gateway", gateway, "--seed", "7"])
        .args(["--orders", &orders.to_string(), "--concurrency", "4"])
        .args(["--timeout", "60s"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run ordertrail load");
    assert!(output.status.success(), "load: {}", output.status);
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("load's JSON summary");
    assert_eq!(
        summary["answered"], orders,
        "every order answered: {summary}"
    );
}

/// The callgrind files of `dir`, summed by process name.
fn per_process(dir: &Path) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir(dir)
        .expect("read the run directory")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("callgrind.") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("callgrind output");
        *counts.entry(process_name(&text)).or_insert(0) +=
            callgrind::instructions(&text).unwrap_or(0);
    }
    assert!(
        !counts.is_empty(),
        "no callgrind output in {}",
        dir.display()
    );
    counts
}

/// `gateway`, `orders`, ... from a callgrind file's `cmd:` line; `up+collector` for `up`.
fn process_name(text: &str) -> String {
    let cmd = text
        .lines()
        .find_map(|l| l.strip_prefix("cmd:"))
        .unwrap_or_default();
    let mut args = cmd.split_whitespace().skip(1);
    match args.next() {
        Some("serve") => args.next().unwrap_or("?").to_owned(),
        Some("up") => "up+collector".to_owned(),
        other => other.unwrap_or("?").to_owned(),
    }
}

fn report(few: &BTreeMap<String, u64>, many: &BTreeMap<String, u64>) {
    let extra = (MANY - FEW) as f64;
    let per_order = |name: &str| {
        let (a, b) = (few.get(name).copied(), many.get(name).copied());
        b.unwrap_or(0).saturating_sub(a.unwrap_or(0)) as f64 / extra
    };
    println!(
        "\nInstructions per order (callgrind, all threads; ({MANY} - {FEW} orders) difference)"
    );
    println!("| process | instructions / order |\n|---|---:|");
    let mut services = 0.0;
    for name in many.keys() {
        let one = per_order(name);
        println!("| {name} | {:.0}k |", one / 1000.0);
        if name != "up+collector" {
            services += one;
        }
    }
    let collector = per_order("up+collector");
    println!("| **services** | **{:.2} M** |", services / 1e6);
    println!(
        "| **services + collector** | **{:.2} M** |",
        (services + collector) / 1e6
    );
}

//! Does any process grow under a sustained load? `ordertrail up` (every service and the
//! embedded collector, exporting) driven by `ordertrail load` for three minutes, with the
//! resident set size (`VmRSS`) of every process sampled every ten seconds.
//!
//! A process that keeps something per order grows linearly with the orders; one with bounded
//! state levels off once its caches, pools and allocator arenas are warm. So the verdict
//! compares the sample taken at a third of the run (warm) with the last one, per process, and
//! fails the run when one grew by more than [`MAX_GROWTH_KIB`]: at the ~800 orders/s this
//! reaches on two cores, a leak of 0.1 KiB per order over the last two minutes is ~9 MiB.
//!
//! Run with `cargo bench --bench soak`; `SOAK_SECONDS=60` shortens it, `SOAK_CONCURRENCY`
//! sets the orders in flight (default 16). It prints one row per sample and a verdict per
//! process, and exits non-zero when a process grew.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use ordertrail_testkit::bench::UpRun;
use ordertrail_testkit::{Binary, binary, rss_kib};

/// Growth allowed between the warm sample and the last one.
const MAX_GROWTH_KIB: u64 = 8 * 1024;

/// Time between two samples.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// How long `up` may take to answer on the gateway, or to stop.
const READY_WITHIN: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let seconds = env_number("SOAK_SECONDS", 180);
    let concurrency = env_number("SOAK_CONCURRENCY", 16);
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("soak");
    let up = UpRun::start(ordertrail.command(), &[], &dir, READY_WITHIN);
    up.wait_ready();

    let started = Instant::now();
    let mut load = start_load(&ordertrail, &dir, &up.gateway(), seconds, concurrency);
    let mut samples: Vec<(Duration, BTreeMap<String, u64>)> = Vec::new();
    loop {
        samples.push((started.elapsed(), rss_of_tree(up.pid())));
        print_sample(samples.last().expect("a sample"));
        if load.try_wait().expect("wait for load").is_some() {
            break;
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    print_load(&dir.join("load.json"));
    up.stop();
    verdict(&samples, seconds)
}

/// `ordertrail load` for `seconds` against `gateway`, its JSON summary in `dir/load.json`.
fn start_load(
    ordertrail: &Binary,
    dir: &Path,
    gateway: &str,
    seconds: u64,
    concurrency: u64,
) -> std::process::Child {
    let out = File::create(dir.join("load.json")).expect("load.json");
    ordertrail
        .command()
        .args(["load", "--json", "--gateway", gateway])
        .args(["--duration", &format!("{seconds}s")])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--max-orders", "10000000"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("start ordertrail load")
}

/// `VmRSS` in KiB of `root` (named `up+collector`) and of every process below it, each named
/// by the service it serves (`gateway`; a master's workers `gateway-worker`, `gateway-worker#2`).
fn rss_of_tree(root: u32) -> BTreeMap<String, u64> {
    let mut found = BTreeMap::new();
    let mut pending = vec![(root, String::new())];
    while let Some((pid, parent)) = pending.pop() {
        let name = match (pid == root, served_by(pid)) {
            (true, _) => "up+collector".to_owned(),
            (false, Some(service)) if service == parent => format!("{service}-worker"),
            (false, Some(service)) => service,
            (false, None) => pid.to_string(),
        };
        if let Some(kib) = rss_kib(pid) {
            let mut key = name.clone();
            for n in 2.. {
                if !found.contains_key(&key) {
                    break;
                }
                key = format!("{name}#{n}");
            }
            found.insert(key, kib);
        }
        let service = served_by(pid).unwrap_or_default();
        pending.extend(
            children(pid)
                .into_iter()
                .map(|child| (child, service.clone())),
        );
    }
    found
}

/// The service a process runs, from its command line (`ordertrail serve gateway ...`).
fn served_by(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut args = cmdline.split(|b| *b == 0);
    args.find(|a| *a == b"serve")?;
    args.next().map(|a| String::from_utf8_lossy(a).into_owned())
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The orders `load` placed and answered, from its JSON summary.
fn print_load(summary: &Path) {
    let text = std::fs::read_to_string(summary).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    println!(
        "load: {} orders, {} answered, {} orders/s",
        json["orders"], json["answered"], json["orders_per_s"]
    );
}

fn print_sample((at, rss): &(Duration, BTreeMap<String, u64>)) {
    let row: Vec<String> = rss
        .iter()
        .map(|(name, kib)| format!("{name} {:.1}", mib(*kib)))
        .collect();
    println!("{:>5.0} s  MiB: {}", at.as_secs_f64(), row.join(", "));
}

/// Per process: RSS at a third of the run and at the end; fails when one grew too much.
fn verdict(samples: &[(Duration, BTreeMap<String, u64>)], seconds: u64) -> ExitCode {
    let warm_at = Duration::from_secs(seconds / 3);
    let Some((warm_time, warm)) = samples.iter().find(|(at, _)| *at >= warm_at) else {
        println!("soak: too few samples for a verdict");
        return ExitCode::FAILURE;
    };
    let (last_time, last) = samples.last().expect("a sample");
    println!(
        "\n| process | RSS at {:.0} s (MiB) | RSS at {:.0} s (MiB) | growth (MiB) |",
        warm_time.as_secs_f64(),
        last_time.as_secs_f64()
    );
    println!("|---|---:|---:|---:|");
    let mut grown = Vec::new();
    for (name, end) in last {
        let Some(start) = warm.get(name) else {
            continue;
        };
        let growth = end.saturating_sub(*start);
        println!(
            "| {name} | {:.1} | {:.1} | {:+.1} |",
            mib(*start),
            mib(*end),
            (*end as f64 - *start as f64) / 1024.0
        );
        if growth > MAX_GROWTH_KIB {
            grown.push(name.clone());
        }
    }
    if grown.is_empty() {
        println!(
            "\nsoak: every process stayed within +{} MiB",
            MAX_GROWTH_KIB / 1024
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "\nsoak: grew by more than {} MiB: {grown:?}",
            MAX_GROWTH_KIB / 1024
        );
        ExitCode::FAILURE
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

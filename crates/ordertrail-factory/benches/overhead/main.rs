//! What does ordertrail cost per request? Four servers, one run, the same load:
//!
//! | variant | what runs |
//! |---|---|
//! | bare | the axum handler, no middleware, no subscriber |
//! | usual | tower-http SetRequestId + PropagateRequestId (UUID) + TraceLayer (INFO), stock JSON formatter with span list, tracing-opentelemetry with a batch OTLP exporter to a live collector |
//! | ordertrail | correlation layer, semconv server span, completion event, JSON lines, OTLP traces and logs to the same live collector |
//! | ordertrail-down | the same, collector refusing connections |
//!
//! Each server is this binary re-run as `--serve <variant>`, pinned to core 0 (`taskset`), its
//! stdout (the log lines) going to a file on disk. The load generator (a raw HTTP/1.1
//! keep-alive client, 32 connections) and the collector (`ordertrail collect`) share core 1.
//! Per variant: 2 s warm-up, 5 s measured; rounds interleave the variants; medians of 3 rounds.
//! Server CPU time comes from `/proc/<pid>/stat`, RSS from `/proc/<pid>/status`.
//!
//! Run with `cargo bench --bench overhead` (`-- --quick` for one short round), or with
//! `-- --instructions` for instruction counts under callgrind ([`instructions`]).

mod instructions;
mod variants;

use std::path::Path;
use std::time::Duration;

use ordertrail_testkit::bench::{Run, Target, collector, drive, pin_self, start, wait_ready};
use ordertrail_testkit::free_port;
use variants::Variant;

const CONNECTIONS: usize = 32;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let variant = Variant::parse(&args[i + 1]).expect("variant");
        serve(variant, &args[i + 2], &args[i + 3]);
        return;
    }
    if args.iter().any(|a| a == "--instructions") {
        count_instructions();
        return;
    }
    pin_self(1);
    let quick = args.iter().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(compare(quick));
}

/// Server mode: runs `variant` on `listen` until SIGTERM or Ctrl-C, then drains and flushes.
fn serve(variant: Variant, listen: &str, otlp: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let guard = runtime.block_on(async {
        // Inside the runtime: the gRPC exporter spawns its connection on it.
        let (router, guard) = variants::setup(variant, otlp);
        let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(ordertrail::web::shutdown_signal())
        .await
        .expect("serve");
        guard
    });
    // Outside the runtime's async context: the guard may block while it flushes.
    drop(guard);
}

/// `--instructions`: every variant under callgrind, with the same collector set-up as below.
fn count_instructions() {
    let bench = Bench::start("instructions");
    instructions::compare(&bench.dir, &bench.collector, &bench.refused);
}

/// A scratch directory, `ordertrail collect` on core 1 writing into it, and an address that
/// refuses connections; the directory is removed on drop.
struct Bench {
    dir: std::path::PathBuf,
    /// The live collector's OTLP endpoint.
    collector: String,
    /// An OTLP endpoint where nothing listens.
    refused: String,
    _collector: ordertrail_testkit::bench::Proc,
}

impl Bench {
    fn start(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("ordertrail-bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bench dir");
        let (collector, endpoint) = collector(Path::new(env!("CARGO_BIN_EXE_ordertrail")), &dir);
        Self {
            dir,
            collector: endpoint,
            refused: format!("http://127.0.0.1:{}", free_port()),
            _collector: collector,
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One measurement of one variant.
#[derive(Debug, Clone, Copy)]
struct Sample {
    run: Run,
    cpu_per_10k: f64,
    rss_mib: f64,
}

async fn compare(quick: bool) {
    let bench = Bench::start("overhead");
    let (rounds, warm, measure) = if quick { (1, 1, 2) } else { (3, 2, 5) };
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); Variant::ALL.len()];
    for round in 0..rounds {
        for (i, variant) in Variant::ALL.into_iter().enumerate() {
            let otlp = if variant == Variant::OrdertrailDown {
                &bench.refused
            } else {
                &bench.collector
            };
            let sample = measure_one(
                &bench.dir,
                variant,
                otlp,
                Duration::from_secs(warm),
                Duration::from_secs(measure),
            )
            .await;
            eprintln!(
                "round {round} {:<16} {:>9.0} req/s  {:.3} cpu-s/10k",
                variant.name(),
                sample.run.rps,
                sample.cpu_per_10k
            );
            samples[i].push(sample);
        }
    }
    report(rounds, samples);
}

async fn measure_one(
    dir: &Path,
    variant: Variant,
    otlp: &str,
    warm: Duration,
    measure: Duration,
) -> Sample {
    let listen = format!("127.0.0.1:{}", free_port());
    let log = dir.join(format!("{}.log", variant.name()));
    let server = start(
        &std::env::current_exe().expect("exe"),
        "0",
        &["--serve", variant.name(), &listen, otlp],
        &[],
        &log,
    );
    let addr = listen.parse().expect("addr");
    wait_ready(addr, "/hello").await;
    let target = Target::get(addr, "/hello");
    drive(&target, CONNECTIONS, warm).await;
    let pid = server.0.id();
    let cpu_before = cpu_seconds(pid);
    let run = drive(&target, CONNECTIONS, measure).await;
    let cpu = cpu_seconds(pid) - cpu_before;
    let requests = run.rps * measure.as_secs_f64();
    Sample {
        run,
        cpu_per_10k: cpu / requests * 10_000.0,
        rss_mib: rss_mib(pid),
    }
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

fn rss_mib(pid: u32) -> f64 {
    ordertrail_testkit::rss_kib(pid).map_or(0.0, |kib| kib as f64 / 1024.0)
}

fn report(rounds: usize, samples: Vec<Vec<Sample>>) {
    let medians: Vec<Sample> = samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(|a, b| a.run.rps.total_cmp(&b.run.rps));
            s[s.len() / 2]
        })
        .collect();
    let (bare, usual) = (medians[0], medians[1]);
    println!(
        "\nGET /hello, {CONNECTIONS} connections, median of {rounds} round(s); server on core 0, client + collector on core 1"
    );
    println!(
        "{:<16} {:>9} {:>8} {:>8} {:>11} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "variant",
        "req/s",
        "p50 ms",
        "p99 ms",
        "cpu-s/10k",
        "RSS MiB",
        "failed",
        "rps/bare",
        "rps/usual",
        "cpu/bare"
    );
    for (variant, s) in Variant::ALL.iter().zip(&medians) {
        println!(
            "{:<16} {:>9.0} {:>8.3} {:>8.3} {:>11.3} {:>8.1} {:>8} {:>8.2}x {:>8.2}x {:>8.2}x",
            variant.name(),
            s.run.rps,
            s.run.p50_ms,
            s.run.p99_ms,
            s.cpu_per_10k,
            s.rss_mib,
            s.run.failed,
            s.run.rps / bare.run.rps,
            s.run.rps / usual.run.rps,
            s.cpu_per_10k / bare.cpu_per_10k,
        );
    }
}

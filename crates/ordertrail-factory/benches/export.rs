//! What exporting telemetry costs the request path, measured in one run:
//!
//! - **off**: no OTLP endpoint (spans made, logs written, nothing exported);
//! - **on**: traces and logs exported over gRPC to a live `ordertrail collect`;
//! - **refused**: the endpoint refuses connections (collector down);
//! - **black hole**: the endpoint accepts and never answers (collector hung).
//!
//! Each variant is `ordertrail serve payments` (release build) on core 0, driven on
//! `GET /healthz` — the full middleware: correlation layer, server span, completion event, JSON
//! line to a file — by 32 keep-alive connections from this process on core 1. Rounds are
//! interleaved (3 × each variant: 2 s warm-up, 5 s measured) and the median is reported.
//!
//! Run with `cargo bench --bench export`.

use std::path::Path;
use std::time::Duration;

use ordertrail_testkit::bench::{
    Proc, Run, Target, black_hole, drive, median, pin_self, start, wait_ready,
};
use ordertrail_testkit::free_port;

/// The `ordertrail` binary of this package.
const EXE: &str = env!("CARGO_BIN_EXE_ordertrail");

const CONNECTIONS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(5);
const ROUNDS: usize = 3;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; there is nothing to unit-test here
    }
    pin_self(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let dir = std::env::temp_dir().join(format!("ordertrail-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let collector_port = free_port();
    let listen = format!("127.0.0.1:{collector_port}");
    let out = dir.to_string_lossy().into_owned();
    // The collector shares the load generator's core, never the server's.
    let _collector = start(
        Path::new(EXE),
        "1",
        &["collect", "--listen", &listen, "--out", &out],
        &[],
        &dir.join("collector.out"),
    );
    let (hole, _hole_thread) = black_hole();
    let refused = format!("http://127.0.0.1:{}", free_port());
    let variants: [(&str, Option<String>); 4] = [
        ("off", None),
        (
            "on (gRPC, live collector)",
            Some(format!("http://{listen}")),
        ),
        ("collector refused", Some(refused)),
        ("collector black hole", Some(format!("http://{hole}"))),
    ];
    let mut results: Vec<Vec<Run>> = vec![Vec::new(); variants.len()];
    for round in 0..ROUNDS {
        for (i, (name, endpoint)) in variants.iter().enumerate() {
            let run = measure(&dir, endpoint.as_deref(), i).await;
            eprintln!("round {round} {name}: {:.0} req/s", run.rps);
            results[i].push(run);
        }
    }
    report(&variants.map(|v| v.0), results);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn measure(dir: &std::path::Path, endpoint: Option<&str>, variant: usize) -> Run {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env = vec![("RUST_LOG", "info".to_owned())];
    if let Some(endpoint) = endpoint {
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()));
    }
    let log = dir.join(format!("payments-{variant}.jsonl"));
    let args = ["serve", "payments", "--listen", &listen];
    let server: Proc = start(Path::new(EXE), "0", &args, &env, &log);
    let addr = listen.parse().expect("loopback address");
    wait_ready(addr, "/healthz").await;
    let target = Target::get(addr, "/healthz");
    drive(&target, CONNECTIONS, WARM_UP).await;
    let run = drive(&target, CONNECTIONS, MEASURE).await;
    drop(server);
    run
}

fn report(names: &[&str], results: Vec<Vec<Run>>) {
    let medians: Vec<Run> = results.into_iter().map(median).collect();
    let base = medians[0].rps;
    println!(
        "\nexport cost on GET /healthz (median of {ROUNDS} rounds, {CONNECTIONS} connections)"
    );
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>8} {:>8}",
        "variant", "req/s", "p50 ms", "p99 ms", "failed", "vs off"
    );
    for (name, run) in names.iter().zip(&medians) {
        println!(
            "{name:<28} {:>10.0} {:>9.3} {:>9.3} {:>8} {:>7.3}x",
            run.rps,
            run.p50_ms,
            run.p99_ms,
            run.failed,
            run.rps / base
        );
    }
}

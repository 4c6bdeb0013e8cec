//! One process or a master with workers? The same load on three ways to run the services:
//!
//! | variant | what runs |
//! |---|---|
//! | single | `ordertrail serve <service>`: one process, a multi-thread runtime (one thread per core) |
//! | workers-2 | `ordertrail serve <service> --workers 2`: a master and 2 single-threaded workers |
//! | workers-4 | `... --workers 4` |
//!
//! Two paths: **hello** (`GET /healthz` on the gateway alone) and **order** (`POST /orders` on
//! the gateway, with orders, payments and inventory behind it; gateway, orders and payments
//! run as the variant says, inventory always as one process since its stock is in memory).
//!
//! Two placements on this 2-core machine:
//! - **pinned**: servers on core 0 (`taskset -c 0`), the load generator on core 1: what one
//!   core does with each variant;
//! - **shared**: servers and load generator all on cores 0-1: what a small box does.
//!
//! Per run: 1 s warm-up, 3 s measured, closed loops on keep-alive connections (32 for hello,
//! 16 for order). Ratios are throughput over `single` in the same path and placement.
//!
//! Run with `cargo bench --bench workers` (`-- --quick` for shorter runs).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ordertrail_testkit::bench::{
    Proc, Run, Target, drive, pin_self, pin_self_to, start, wait_ready,
};
use ordertrail_testkit::{free_port, free_ports};

const VARIANTS: [(&str, Option<&str>); 3] = [
    ("single", None),
    ("workers-2", Some("2")),
    ("workers-4", Some("4")),
];

const ORDER: &str = r#"{"sku":"sticker-pack","quantity":1,"card_number":"4242 4242 4242 4242"}"#;

#[derive(Debug, Clone, Copy)]
enum Scenario {
    Hello,
    Order,
}

#[derive(Debug, Clone, Copy)]
enum Placement {
    Pinned,
    Shared,
}

impl Placement {
    fn server_cpus(self) -> &'static str {
        match self {
            Self::Pinned => "0",
            Self::Shared => "0,1",
        }
    }

    fn pin_load(self) {
        match self {
            Self::Pinned => pin_self(1),
            Self::Shared => pin_self_to(&[0, 1]),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (warm, measure) = if quick {
        (Duration::from_millis(300), Duration::from_secs(1))
    } else {
        (Duration::from_secs(1), Duration::from_secs(3))
    };
    let dir = std::env::temp_dir().join(format!("ordertrail-bench-workers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    println!("| path | placement | variant | req/s | ratio | p50 ms | p99 ms | failed |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for path in [Scenario::Hello, Scenario::Order] {
        for placement in [Placement::Pinned, Placement::Shared] {
            // Threads made from now on (the load runtime's) inherit this placement.
            placement.pin_load();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            let mut base = None;
            for (name, workers) in VARIANTS {
                let run =
                    runtime.block_on(measure_one(path, placement, workers, &dir, warm, measure));
                let base_rps = *base.get_or_insert(run.rps);
                println!(
                    "| {path:?} | {placement:?} | {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                    run.rps,
                    run.rps / base_rps,
                    run.p50_ms,
                    run.p99_ms,
                    run.failed
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

async fn measure_one(
    path: Scenario,
    placement: Placement,
    workers: Option<&str>,
    dir: &Path,
    warm: Duration,
    measure: Duration,
) -> Run {
    let (procs, gateway) = match path {
        Scenario::Hello => {
            let port = free_port();
            let gateway = serve("gateway", port, workers, placement, dir, &[]);
            (vec![gateway], port)
        }
        Scenario::Order => order_stack(placement, workers, dir),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], gateway));
    wait_ready(addr, "/healthz").await;
    let (target, connections) = match path {
        Scenario::Hello => (Target::get(addr, "/healthz"), 32),
        Scenario::Order => (
            Target {
                method: "POST",
                body: Some(ORDER.to_owned()),
                ..Target::get(addr, "/orders")
            },
            16,
        ),
    };
    drive(&target, connections, warm).await;
    let run = drive(&target, connections, measure).await;
    for proc in procs.into_iter().rev() {
        stop(proc);
    }
    run
}

/// The four services on free ports; returns them (gateway last) and the gateway's port.
fn order_stack(placement: Placement, workers: Option<&str>, dir: &Path) -> (Vec<Proc>, u16) {
    let ports = free_ports();
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    let [inventory, payments, orders, gateway] = ports;
    let peers = [
        "--inventory-url".to_owned(),
        url(inventory),
        "--payments-url".to_owned(),
        url(payments),
        "--orders-url".to_owned(),
        url(orders),
    ];
    let peers: Vec<&str> = peers.iter().map(String::as_str).collect();
    let db = dir.join(format!("orders-{}.sqlite3", free_port()));
    let db = db.to_str().expect("utf-8 path");
    let procs = vec![
        serve("inventory", inventory, None, placement, dir, &[]),
        serve("payments", payments, workers, placement, dir, &[]),
        serve(
            "orders",
            orders,
            workers,
            placement,
            dir,
            &[&["--db", db], &peers[..]].concat(),
        ),
        serve("gateway", gateway, workers, placement, dir, &peers),
    ];
    for port in &ports[..3] {
        wait_port(*port);
    }
    (procs, gateway)
}

/// Blocks until `GET /healthz` on `port` answers (at most 20 s).
fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("port {port} never opened");
}

fn serve(
    service: &str,
    port: u16,
    workers: Option<&str>,
    placement: Placement,
    dir: &Path,
    extra: &[&str],
) -> Proc {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", service, "--listen", &listen];
    if let Some(n) = workers {
        args.extend(["--workers", n]);
    }
    args.extend(extra);
    let log: PathBuf = dir.join(format!("{service}-{port}.log"));
    let env = [("RUST_LOG", "info".to_owned())];
    start(
        Path::new(env!("CARGO_BIN_EXE_ordertrail")),
        placement.server_cpus(),
        &args,
        &env,
        &log,
    )
}

/// SIGTERM, so a master drains and stops its workers; SIGKILL after 20 s.
fn stop(mut proc: Proc) {
    if let Ok(pid) = i32::try_from(proc.0.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if matches!(proc.0.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Dropping `proc` kills it.
}

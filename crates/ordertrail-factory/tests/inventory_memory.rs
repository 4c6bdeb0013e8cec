//! Inventory's memory stays flat under sustained load: the real `ordertrail serve inventory`
//! process, 9,000 reserve + commit cycles over HTTP, and its resident set size (`VmRSS` in
//! `/proc/<pid>/status`) after a warm-up and at the end.
//!
//! The warm-up fills inventory's memory of recently finished reservations
//! ([`RECENT_FINISHED`]); after it, a process that forgets finished reservations stops
//! growing, while one that keeps every reservation grows by the size of each. The order ids
//! are long (2 KiB) so that keeping them adds about 5 KiB a cycle, some 20 MiB over the
//! measured cycles (26 MiB over 5,000 when measured), far above allocator noise.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ordertrail_factory::services::inventory::RECENT_FINISHED;
use ordertrail_testkit::{Child, binary, client, free_port, poll_async};
use serde_json::json;

/// Cycles run before the first sample: enough to fill the memory of finished reservations.
const WARM_UP: usize = RECENT_FINISHED;

/// Cycles between the two samples.
const MEASURED: usize = 4_000;

/// Requests in flight at once.
const CONCURRENCY: usize = 32;

/// Growth allowed between the two samples.
const MAX_GROWTH_KIB: u64 = 8 * 1024;

/// Length of every order id.
const ID_LEN: usize = 2_048;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inventory_rss_stays_flat_over_many_committed_orders() {
    let started = Instant::now();
    let inventory = start_inventory();
    wait_healthy(&inventory).await;

    drive(&inventory.url(), 0..WARM_UP).await;
    let before = rss_kib(inventory.pid());
    drive(&inventory.url(), WARM_UP..WARM_UP + MEASURED).await;
    let after = rss_kib(inventory.pid());

    let growth = after.saturating_sub(before);
    eprintln!(
        "inventory VmRSS: {before} KiB after {WARM_UP} cycles, {after} KiB after {} more \
         (+{growth} KiB) in {:?}",
        MEASURED,
        started.elapsed()
    );
    assert!(
        growth < MAX_GROWTH_KIB,
        "inventory grew by {growth} KiB over {MEASURED} finished orders (from {before} KiB)"
    );
}

/// `ordertrail serve inventory` on a free port, without telemetry export, logging warnings
/// only, so the process holds nothing but the service's own state.
fn start_inventory() -> Child {
    let ordertrail = binary!();
    let dir = ordertrail.fresh_dir("inventory-memory");
    let port = free_port();
    let (stdout, stderr) = (dir.join("stdout.log"), dir.join("stderr.log"));
    let file = |p: &_| std::fs::File::create(p).expect("log file");
    let process = ordertrail
        .command()
        .args([
            "serve",
            "inventory",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("OTEL_SDK_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(file(&stdout))
        .stderr(file(&stderr))
        .spawn()
        .expect("start ordertrail serve inventory");
    Child::new("inventory", port, process, stdout, stderr)
}

async fn wait_healthy(inventory: &Child) {
    let (client, url) = (client(), format!("{}/healthz", inventory.url()));
    let healthy = poll_async(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            let res = client.get(&url).send().await.ok()?;
            res.status().is_success().then_some(())
        },
    )
    .await;
    assert!(
        healthy.is_some(),
        "inventory did not answer {url}: {}",
        inventory.stderr()
    );
}

/// Reserves one sticker pack for each order number in `orders`, then commits it, with
/// [`CONCURRENCY`] orders in flight.
async fn drive(base: &str, orders: std::ops::Range<usize>) {
    let client = client();
    let lanes = (0..CONCURRENCY).map(|lane| {
        let (client, base) = (client.clone(), base.to_owned());
        let mine: Vec<usize> = orders.clone().skip(lane).step_by(CONCURRENCY).collect();
        tokio::spawn(async move {
            for n in mine {
                cycle(&client, &base, n).await;
            }
        })
    });
    for lane in futures_util::future::join_all(lanes).await {
        lane.expect("a load lane panicked");
    }
}

async fn cycle(client: &reqwest::Client, base: &str, n: usize) {
    let id = format!("{n:0>ID_LEN$}");
    let reserve = client
        .post(format!("{base}/reservations/{id}"))
        .json(&json!({"sku": "sticker-pack", "quantity": 1}))
        .send()
        .await
        .expect("reserve");
    assert_eq!(reserve.status(), 201, "reserve {n}");
    let commit = client
        .post(format!("{base}/reservations/{id}/commit"))
        .send()
        .await
        .expect("commit");
    assert_eq!(commit.status(), 200, "commit {n}");
}

/// `VmRSS` of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    ordertrail_testkit::rss_kib(pid).expect("a VmRSS line")
}

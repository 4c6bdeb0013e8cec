//! `ordertrail serve --workers N`: the kernel spreads connections over the workers, a busy port
//! stops the master before any worker starts, and SIGTERM drains every worker.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use ordertrail_testkit::workers::{Load, Master, alive, load_client, serial};
use ordertrail_testkit::{binary, free_port};
use serde_json::{Value, json};

#[tokio::test]
async fn four_workers_share_a_thousand_requests() {
    let _serial = serial().await;
    let master = Master::start(&binary!(), "inventory", free_port(), 4, &[]);
    let workers = master.wait_ready().await;
    assert_eq!(workers.len(), 4, "{workers:?}");

    // New connection per request: each one is accepted by whichever worker is first.
    let load = Load::start(&master.url("/catalog"), 8, false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while completed_so_far(&master) < 1_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let outcomes = load.stop().await;
    assert!(outcomes.len() >= 1_000, "only {} requests", outcomes.len());
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.ok())
        .map(|o| &o.result)
        .collect();
    assert!(
        failed.is_empty(),
        "{} requests failed: {:?}",
        failed.len(),
        failed.first()
    );

    let served = completed(&master, outcomes.len()).await;
    let by_pid: BTreeSet<(u64, u64)> = served
        .iter()
        .map(|l| (l["pid"].as_u64().unwrap(), l["worker"].as_u64().unwrap()))
        .collect();
    let pids: BTreeSet<u64> = by_pid.iter().map(|(pid, _)| *pid).collect();
    assert!(pids.len() >= 2, "one worker served everything: {by_pid:?}");
    // Each line names its worker, and the index is the one the master gave that pid.
    for (pid, index) in &by_pid {
        assert_eq!(workers.get(index).map(|p| u64::from(*p)), Some(*pid));
    }
    assert!(
        !pids.contains(&u64::from(master.pid())),
        "the master served"
    );
}

/// How many requests the workers have logged as completed (lifecycle lines not counted).
fn completed_so_far(master: &Master) -> usize {
    master
        .lines()
        .iter()
        .filter(|l| l["message"] == "request completed")
        .count()
}

/// Waits until the workers logged `count` completed requests; returns those lines.
async fn completed(master: &Master, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<Value> = master
            .lines()
            .into_iter()
            .filter(|l| l["message"] == "request completed")
            .collect();
        if lines.len() >= count || Instant::now() >= deadline {
            assert_eq!(lines.len(), count, "completed requests logged");
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_busy_port_stops_the_master_before_any_worker_starts() {
    let _serial = serial().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().unwrap().port();
    let mut master = Master::start(&binary!(), "payments", port, 2, &[]);
    let status = master
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("the master exits");
    assert!(!status.success(), "{status}");
    let stderr = master.stderr();
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")) && stderr.contains("in use"),
        "unclear message: {stderr}"
    );
    assert!(master.all_worker_pids().is_empty(), "a worker started");
}

#[tokio::test]
async fn sigterm_lets_in_flight_charges_finish_and_leaves_no_process() {
    let _serial = serial().await;
    let mut master = Master::start(
        &binary!(),
        "payments",
        free_port(),
        2,
        &["--latency-ms", "500"],
    );
    let workers = master.wait_ready().await;
    let client = load_client(true);
    let charges: Vec<_> = (0..4)
        .map(|i| {
            let request = client
                .post(master.url(&format!("/charges/order-{i}")))
                .json(&json!({"amount_cents": 100, "card_number": "4242424242424242"}));
            tokio::spawn(async move {
                let response = request.send().await.expect("the charge is answered");
                let status = response.status();
                (status, response.json::<Value>().await.expect("a JSON body"))
            })
        })
        .collect();
    // The charges take 500 ms; the stop signal arrives while all of them are in flight.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let signalled = Instant::now();
    master.signal(Signal::SIGTERM);

    for (i, charge) in charges.into_iter().enumerate() {
        let (status, body) = charge.await.expect("charge task");
        assert!(status.is_success(), "charge {i}: {status} {body}");
        assert_eq!(body["order_id"], format!("order-{i}"));
        assert_eq!(body["card_last4"], "4242");
    }
    let status = master
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("the master exits before its 15 s stop timeout");
    assert!(status.success(), "{status}");
    assert!(signalled.elapsed() < Duration::from_secs(5));
    for pid in workers.values() {
        assert!(!alive(*pid), "worker {pid} outlived its master");
    }
    assert_eq!(master.master_lines("worker stopped").len(), 2);
    let stopped = master.master_lines("master stopped");
    assert_eq!(stopped.len(), 1);
    assert_eq!(
        (stopped[0]["killed"].as_u64(), stopped[0]["failed"].as_u64()),
        (Some(0), Some(0))
    );
}

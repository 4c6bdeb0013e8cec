//! `ordertrail serve --workers N` under steady load: a worker killed with SIGKILL is back
//! within a second, and SIGHUP replaces every worker without failing a request.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ordertrail_testkit::workers::{Load, Master, alive, serial};
use ordertrail_testkit::{binary, free_port};

/// Keep-alive connections of the steady load.
const CONNECTIONS: usize = 8;

#[tokio::test]
async fn a_killed_worker_is_back_within_a_second() {
    let _serial = serial().await;
    let master = Master::start(&binary!(), "inventory", free_port(), 2, &[]);
    let workers = master.wait_ready().await;
    let load = Load::start(&master.url("/catalog"), CONNECTIONS, true);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (&index, &victim) = workers.iter().next().expect("a worker");
    kill(Pid::from_raw(victim as i32), Signal::SIGKILL).expect("kill -9 a worker");
    let killed = Instant::now();
    let back = master
        .wait_for("worker ready", Duration::from_secs(5), |l| {
            l["worker"] == index && l["worker_pid"] != victim
        })
        .await;
    let back_after = killed.elapsed();
    let ready = Instant::now();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let outcomes = load.stop().await;

    assert!(
        back_after < Duration::from_secs(1),
        "back after {back_after:?}"
    );
    assert!(!alive(victim));
    let exited = master.master_lines("worker exited");
    assert!(
        exited.iter().any(|l| l["worker_pid"] == victim
            && l["status"].as_str().is_some_and(|s| s.contains("SIGKILL"))),
        "{exited:?}"
    );
    // At most the requests in flight on the killed worker fail: one per connection at most.
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.ok()).collect();
    assert!(
        failed.len() <= CONNECTIONS,
        "{} failed: {failed:?}",
        failed.len()
    );
    let after: Vec<_> = outcomes.iter().filter(|o| o.started >= ready).collect();
    assert!(
        after.len() > 50,
        "too little load after the restart: {}",
        after.len()
    );
    assert!(
        after.iter().all(|o| o.ok()),
        "a request failed after the restart"
    );
    eprintln!(
        "new worker {} ready {back_after:?} after kill -9; {} requests, {} failed",
        back["worker_pid"],
        outcomes.len(),
        failed.len()
    );
}

#[tokio::test]
async fn sighup_replaces_every_worker_without_failing_a_request() {
    let _serial = serial().await;
    let master = Master::start(&binary!(), "inventory", free_port(), 2, &[]);
    let before = master.wait_ready().await;
    let load = Load::start(&master.url("/catalog"), CONNECTIONS, true);
    tokio::time::sleep(Duration::from_millis(500)).await;

    master.signal(Signal::SIGHUP);
    master
        .wait_for("rolling restart finished", Duration::from_secs(20), |_| {
            true
        })
        .await;
    for pid in before.values() {
        master
            .wait_for("worker drained", Duration::from_secs(15), |l| {
                l["worker_pid"] == *pid
            })
            .await;
    }
    let restarted = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outcomes = load.stop().await;

    let failed: Vec<_> = outcomes.iter().filter(|o| !o.ok()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        outcomes.len()
    );
    let after = outcomes.iter().filter(|o| o.started >= restarted).count();
    assert!(after > 50, "too little load after the restart: {after}");

    let now = master.workers();
    assert_eq!(now.len(), 2, "{now:?}");
    let old: BTreeSet<u32> = before.values().copied().collect();
    let new: BTreeSet<u32> = now.values().copied().collect();
    assert!(
        old.is_disjoint(&new),
        "a worker was not replaced: {old:?} -> {new:?}"
    );
    assert!(
        old.iter().all(|pid| !alive(*pid)),
        "an old worker still runs"
    );
    eprintln!(
        "{} requests, none failed; workers {old:?} -> {new:?}",
        outcomes.len()
    );
}

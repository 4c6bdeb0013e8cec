//! 2,000 orders in flight together on four worker threads: every log line of every service
//! carries the id of the request it was written for, never a neighbour's.
//!
//! This is the only test of its binary, so every captured line belongs to these orders.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use ordertrail_testkit::{APPROVED_CARD, Line, LineExt, LogCursor, Services, order_body};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const ORDERS: usize = 2_000;

/// Requests the client keeps open at once.
const IN_FLIGHT: usize = 500;

/// The hops of one order that answer with a completion line: (service, route).
const HOPS: [(&str, &str); 5] = [
    ("gateway", "/orders"),
    ("orders", "/orders"),
    ("inventory", "/reservations/{order_id}"),
    ("payments", "/charges/{order_id}"),
    ("inventory", "/reservations/{order_id}/commit"),
];

/// What the client knows: request id → order id, and back.
#[derive(Default)]
struct Placed {
    by_request: HashMap<String, String>,
    by_order: HashMap<String, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_orders_never_share_or_swap_request_ids() {
    let services = Arc::new(Services::start().await);
    let placed = place_all(&services).await;
    let lines = wait_all_dispatched(&placed).await;
    assert_every_line_is_ours(&lines, &placed);
    assert_orders_map_to_their_ids(&lines, &placed);
    assert_one_completion_per_hop(&lines, &placed);
    let services = Arc::into_inner(services).expect("the tasks are done with it");
    services.stop().await;
}

/// Places `ORDERS` orders with ids `load-{i}`, `IN_FLIGHT` at a time.
async fn place_all(services: &Arc<Services>) -> Placed {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let (open, most_open) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = JoinSet::new();
    for i in 0..ORDERS {
        let (services, permits) = (Arc::clone(services), Arc::clone(&permits));
        let (open, most_open) = (Arc::clone(&open), Arc::clone(&most_open));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore stays open");
            most_open.fetch_max(open.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            let placed = place_one(&services, format!("load-{i}")).await;
            open.fetch_sub(1, Ordering::SeqCst);
            placed
        });
    }
    let mut placed = Placed::default();
    while let Some(result) = tasks.join_next().await {
        let (request_id, order_id) = result.expect("an order task panicked");
        placed.by_order.insert(order_id.clone(), request_id.clone());
        placed.by_request.insert(request_id, order_id);
    }
    assert_eq!(
        (placed.by_request.len(), placed.by_order.len()),
        (ORDERS, ORDERS)
    );
    let most_open = most_open.load(Ordering::SeqCst);
    assert!(
        most_open >= IN_FLIGHT / 2,
        "only {most_open} requests were ever in flight together"
    );
    placed
}

async fn place_one(services: &Services, id: String) -> (String, String) {
    let body = order_body("sticker-pack", 1, APPROVED_CARD);
    let reply = services.place(&body, Some(&id)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{id}");
    assert_eq!(reply.request_id(), id);
    let order = reply.json();
    assert_eq!(order["request_id"], json!(id));
    (id, order["order_id"].as_str().expect("order id").to_owned())
}

/// Reads the log until every order's dispatch line is in (at most 30 s); returns all lines.
async fn wait_all_dispatched(placed: &Placed) -> Vec<Line> {
    let mut pending: HashSet<&str> = placed.by_request.keys().map(String::as_str).collect();
    let (mut cursor, mut lines) = (LogCursor::default(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    for _ in 0..3_000 {
        let fresh = cursor.next_lines();
        for line in fresh
            .iter()
            .filter(|l| l.message() == Some("order dispatched"))
        {
            pending.remove(line.request_id().unwrap_or_default());
        }
        lines.extend(fresh);
        if pending.is_empty() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        pending.is_empty(),
        "{} orders not dispatched within 30 s",
        pending.len()
    );
    lines
}

fn assert_every_line_is_ours(lines: &[Line], placed: &Placed) {
    let strays: Vec<&Line> = lines
        .iter()
        .filter(|l| {
            !l.request_id()
                .is_some_and(|id| placed.by_request.contains_key(id))
        })
        .collect();
    assert!(
        strays.is_empty(),
        "{} lines with no issued id, e.g. {:#?}",
        strays.len(),
        &strays[..strays.len().min(3)]
    );
}

/// The orders a line names: its `order_id` field, and path or url segments that are order ids.
/// An `order_id` that names no order placed here is returned too, so it shows as a mismatch.
fn named_orders<'l>(line: &'l Line, placed: &Placed) -> HashSet<&'l str> {
    let mut named: HashSet<&str> = line.text("order_id").into_iter().collect();
    for key in ["path", "url"] {
        let segments = line.text(key).into_iter().flat_map(|v| v.split('/'));
        named.extend(segments.filter(|s| placed.by_order.contains_key(*s)));
    }
    named
}

fn assert_orders_map_to_their_ids(lines: &[Line], placed: &Placed) {
    let mut mismatches = Vec::new();
    let mut lines_per_order: HashMap<&str, usize> = HashMap::new();
    for line in lines {
        for order_id in named_orders(line, placed) {
            *lines_per_order.entry(order_id).or_default() += 1;
            let expected = placed.by_order.get(order_id).map(String::as_str);
            if expected.is_none() || line.request_id() != expected {
                mismatches.push((order_id, expected, line));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, e.g. {:#?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(3)]
    );
    assert_eq!(
        lines_per_order.len(),
        ORDERS,
        "every order is named in the log"
    );
    let fewest = lines_per_order.values().min().copied().unwrap_or_default();
    assert!(fewest >= 10, "an order is named by only {fewest} lines");
}

fn assert_one_completion_per_hop(lines: &[Line], placed: &Placed) {
    let mut completions: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for line in lines
        .iter()
        .filter(|l| l.message() == Some("request completed"))
    {
        let status = line["status"].as_u64().unwrap_or_default();
        assert!((200..300).contains(&status), "a hop failed: {line:?}");
        let key = (
            line.request_id().unwrap_or_default(),
            line.service().unwrap_or_default(),
            line.text("route").unwrap_or_default(),
        );
        *completions.entry(key).or_default() += 1;
    }
    for request_id in placed.by_request.keys() {
        for (service, route) in HOPS {
            let count = completions
                .get(&(request_id.as_str(), service, route))
                .copied()
                .unwrap_or_default();
            assert_eq!(
                count, 1,
                "completions of {service} {route} for {request_id}"
            );
        }
    }
    assert_eq!(
        completions.len(),
        ORDERS * HOPS.len(),
        "no hop beyond the five of an order"
    );
}

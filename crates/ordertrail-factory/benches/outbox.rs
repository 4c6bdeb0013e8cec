//! What the outbox and the broker hop cost, each against its baseline in the same run:
//!
//! - **confirm**: confirming an order as it was (one `UPDATE`) against confirming it with its
//!   outbox row (the `UPDATE` and an `INSERT` in one SQLite transaction), on a database file
//!   (WAL, `synchronous = NORMAL`), through the store's blocking pool;
//! - **deliver**: one event from the relay to shipping — `POST /shipments` to shipping on
//!   loopback (shipping processes it before it answers), and a JetStream publish waiting for
//!   the server's ack (with a real `nats-server` on a free port; left out when it is missing) —
//!   each with a fresh message id, so neither is a deduplicated duplicate.
//!
//! Run with `cargo bench --bench outbox`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::Criterion;
use ordertrail::propagation::Carrier;
use ordertrail_factory::broker::{
    self, Event, HttpTransport, NatsTransport, Outgoing, SUBJECT, Transport,
};
use ordertrail_factory::services::api::{Order, OrderStatus};
use ordertrail_factory::services::orders::{OrderStore, OutboxRow};
use ordertrail_factory::services::shipping::{self, ShippingFaults, ShippingState};
use ordertrail_testkit::{NatsServer, Served};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn event(order_id: String) -> Event {
    Event {
        order_id,
        sku: "mug-classic".into(),
        quantity: 2,
        amount_cents: 2_400,
        confirmed_at: "2026-12-02T09:00:00.000000Z".into(),
    }
}

fn order(order_id: &str) -> Order {
    Order {
        order_id: order_id.into(),
        status: OrderStatus::Pending,
        sku: "mug-classic".into(),
        quantity: 2,
        amount_cents: 0,
        card_last4: "4242".into(),
        request_id: "bench-1".into(),
    }
}

fn confirm(c: &mut Criterion, rt: &Runtime) {
    let dir = std::env::temp_dir().join(format!("ordertrail-bench-{}", uuid::Uuid::new_v4()));
    let store = OrderStore::open(&dir.join("orders.sqlite3")).expect("opens");
    rt.block_on(store.insert(order("o-1"))).expect("inserted");
    let span = tracing::Span::none();
    let mut group = c.benchmark_group("confirm");
    group.bench_function("update_only", |b| {
        b.iter(|| {
            let update = store.set_status("o-1".into(), OrderStatus::Confirmed, Some(2_400));
            rt.block_on(update).expect("updated");
        });
    });
    group.bench_function("update_and_outbox_insert", |b| {
        b.iter(|| {
            let row = OutboxRow::new(SUBJECT, &event("o-1".into()), &span);
            rt.block_on(store.confirm("o-1".into(), 2_400, row))
                .expect("confirmed");
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// A message with a fresh id each call.
fn outgoing(counter: &AtomicU64) -> Outgoing {
    let order_id = format!("bench-{}", counter.fetch_add(1, Ordering::Relaxed));
    let payload = event(order_id.clone()).to_payload();
    Outgoing {
        subject: SUBJECT,
        message_id: order_id,
        carrier: Carrier::default(),
        payload: payload.into(),
        attempt: 1,
    }
}

fn deliver(c: &mut Criterion, rt: &Runtime) {
    let counter = AtomicU64::new(0);
    let shipping = rt.block_on(Served::start(shipping::router(ShippingState::new(
        ShippingFaults::default(),
    ))));
    let http = Transport::Http(HttpTransport::new(&shipping.url).expect("a client"));
    let nats = rt.block_on(NatsServer::start("bench outbox"));
    let mut group = c.benchmark_group("deliver");
    group.bench_function("http_post_to_shipping", |b| {
        b.iter(|| {
            rt.block_on(http.deliver(&outgoing(&counter)))
                .expect("delivered")
        });
    });
    if let Some(server) = &nats {
        let js = rt.block_on(broker::connect(&server.url)).expect("connects");
        let nats = Transport::Nats(NatsTransport::new(js));
        group.bench_function("jetstream_publish_and_ack", |b| {
            b.iter(|| {
                rt.block_on(nats.deliver(&outgoing(&counter)))
                    .expect("stored")
            });
        });
    }
    group.finish();
    rt.block_on(shipping.stop());
}

/// What `criterion_group!` would generate, but private, with shorter runs than criterion's
/// default: each benchmark is a round trip of tens of microseconds.
fn benches() {
    let rt = runtime();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    confirm(&mut criterion, &rt);
    deliver(&mut criterion, &rt);
}

criterion::criterion_main!(benches);

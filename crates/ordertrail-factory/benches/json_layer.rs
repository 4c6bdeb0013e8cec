//! Our JSON layer against tracing-subscriber's stock JSON formatter.
//!
//! Both write the same event — a message and five fields, inside a two-level span (request →
//! place_order) — to the same kind of in-memory sink, with span fields included (the stock
//! formatter's `with_current_span` and `with_span_list`, its defaults). Run with
//! `cargo bench --bench json_layer`; criterion prints events/s for each.

use std::io;
use std::sync::{Arc, Mutex};

use criterion::{Criterion, Throughput, criterion_main};
use ordertrail::logging::JsonLayer;
use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// An in-memory sink: appends each line to a buffer that is emptied past 1 MiB.
#[derive(Clone, Default)]
struct MemorySink(Arc<Mutex<Vec<u8>>>);

impl io::Write for &MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut sink = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if sink.len() > 1 << 20 {
            sink.clear();
        }
        sink.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for MemorySink {
    type Writer = &'a MemorySink;
    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

fn ours() -> Dispatch {
    let layer = JsonLayer::new("bench", MemorySink::default());
    Dispatch::new(tracing_subscriber::registry().with(layer))
}

fn stock() -> Dispatch {
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(MemorySink::default());
    Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// The measured event, inside its two spans.
fn one_event(dispatch: &Dispatch, c: &mut Criterion, name: &str) {
    tracing::dispatcher::with_default(dispatch, || {
        let request = tracing::info_span!(
            "request",
            method = "POST",
            route = "/orders",
            request_id = "01a20eee-8959-763f-8d3c-b6263da19310"
        );
        let _request = request.enter();
        let place = tracing::info_span!(
            "place_order",
            order_id = "01a20eee-895a-75fd-b0d2-e627baface60"
        );
        let _place = place.enter();
        let mut group = c.benchmark_group("json_event");
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter(|| {
                tracing::info!(
                    sku = "mug-classic",
                    quantity = 2_u64,
                    amount_cents = 2_400_u64,
                    card_last4 = "4242",
                    latency_ms = 3.25_f64,
                    "order confirmed"
                );
            });
        });
        group.finish();
    });
}

fn json_layers(c: &mut Criterion) {
    one_event(&stock(), c, "stock_fmt_json");
    one_event(&ours(), c, "ordertrail_json_layer");
}

/// What `criterion_group!` would generate, but private: every benchmark, with criterion's
/// command-line configuration.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    json_layers(&mut criterion);
}
criterion_main!(benches);

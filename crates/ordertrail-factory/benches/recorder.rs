//! What the flight recorder costs on the success path, against plain `INFO` filtering and
//! against writing the `DEBUG` detail, in one run.
//!
//! Each iteration is one request through the real `CorrelationLayer` (request id, request
//! span, completion line) into a handler that logs one `INFO` and eight `DEBUG` events inside
//! a child span, answered 201. Three subscribers, each with a JSON output to memory:
//! - `info`: the output at `info`, no recorder — the `DEBUG` callsites stay disabled;
//! - `recorder`: the same output plus the recorder — the eight events are kept, then held
//!   and discarded because the request succeeded;
//! - `debug_written`: the output at `debug` — the eight events are written as lines.
//!
//! Each subscriber is built inside its own benchmark and dropped after it, so `tracing`'s
//! per-callsite interest is that of the subscriber measured. Run with
//! `cargo bench --bench recorder`.

use std::convert::Infallible;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use criterion::{Criterion, Throughput, criterion_main};
use http::{Request, Response, StatusCode};
use ordertrail::correlation::CorrelationLayer;
use ordertrail::logging::JsonLayer;
use ordertrail::recorder::{Recorder, RecorderConfig};
use tower::{Layer as _, ServiceExt as _};
use tracing::{Dispatch, Instrument, debug, info};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

/// An in-memory sink, emptied past 1 MiB.
#[derive(Clone, Default)]
struct MemorySink(Arc<Mutex<Vec<u8>>>);

impl io::Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut sink = self.0.lock().unwrap_or_else(PoisonError::into_inner);
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
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

fn json() -> JsonLayer<MemorySink> {
    JsonLayer::new("bench", MemorySink::default())
}

fn info_only() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(json().with_filter(EnvFilter::new("info"))))
}

fn with_recorder() -> Dispatch {
    let output = json();
    let recorder = Recorder::new(
        RecorderConfig::default(),
        vec![Arc::new(output.replay_sink())],
    );
    let filter = recorder.filter("info");
    Dispatch::new(
        tracing_subscriber::registry()
            .with(output.with_filter(EnvFilter::new("info")))
            .with(recorder.with_filter(filter)),
    )
}

fn debug_written() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(json().with_filter(EnvFilter::new("debug"))))
}

/// The handler: one `INFO` and eight `DEBUG` events in a child span.
async fn place(_req: Request<()>) -> Result<Response<String>, Infallible> {
    let span = tracing::info_span!(
        "place_order",
        order_id = "01a20eee-895a-75fd-b0d2-e627baface60"
    );
    async {
        info!(sku = "mug-classic", quantity = 2_u64, "order received");
        for step in 0..8_u64 {
            debug!(
                step,
                sku = "mug-classic",
                stock_left = 41_u64,
                "workflow step"
            );
        }
    }
    .instrument(span)
    .await;
    let res = Response::builder()
        .status(StatusCode::CREATED)
        .body(String::new());
    Ok(res.unwrap_or_default())
}

fn one_request(c: &mut Criterion, name: &str, make: fn() -> Dispatch) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function(name, |b| {
        let dispatch = make();
        tracing::dispatcher::with_default(&dispatch, || {
            let service = CorrelationLayer::new()
                .service("bench")
                .layer(tower::service_fn(place));
            b.iter(|| {
                let req = Request::post("/orders").body(()).unwrap_or_default();
                runtime.block_on(service.clone().oneshot(req))
            });
        });
    });
    group.finish();
}

fn requests(c: &mut Criterion) {
    one_request(c, "info", info_only);
    one_request(c, "recorder", with_recorder);
    one_request(c, "debug_written", debug_written);
}

/// What `criterion_group!` would generate, but private: every benchmark, with criterion's
/// command-line configuration.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    requests(&mut criterion);
}
criterion_main!(benches);

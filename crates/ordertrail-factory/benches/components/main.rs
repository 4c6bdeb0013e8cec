//! What each piece of the instrumentation costs, in instructions: creating a request span,
//! turning an event into a JSON line or an OTLP log record, encoding a span or a record for
//! export. Each next to what stock parts pay for the same piece.
//!
//! Run with `cargo bench -p ordertrail-factory --bench components` (`valgrind` must be
//! installed; the whole run takes under a minute). `-- --keep` keeps the callgrind output
//! files, to drill into a number with `callgrind_annotate --inclusive=yes`.
//!
//! # Method
//! The benchmark starts `ordertrail collect` on a free port, then re-runs itself as
//! `--drive <stack> <items> <endpoint> <service>` under `valgrind --tool=callgrind`, once per
//! stack (see [`stacks::Stack`]). A driver installs its stack through public API only, makes
//! [`ITEMS`] request-like spans of 16 fields, each holding one completion event, waits until
//! the collector has every span and record, and shuts down. The collector's files are then
//! checked: every span and record must have arrived before anything is divided by their
//! number.
//!
//! Costs are callgrind's **inclusive cost of one function**, read from its output file
//! ([`ordertrail_testkit::bench::callgrind::Profile`]), divided by the items it handled:
//! - on the caller's thread, the driver's own three steps, `open_span`, `emit_event` and
//!   `end_span`: never inlined, so their names hold whatever the library does inside;
//! - on the export thread, the encoders: ordertrail's `wire::spans::export_request` and
//!   `wire::logs::export_request` (private; the drivers reach them through the exporter);
//!   for the SDK's own exporter, its transform into generated structs
//!   (`group_spans_by_resource_and_scope`, `group_logs_by_resource_and_scope`) plus
//!   tonic-prost's `ProstEncoder::encode`, in stacks that export the same spans and records
//!   as ordertrail (no span events, no code or thread attributes). The span exporter's copy
//!   of each batch before its transform is not counted, so the SDK's figure is a floor.
//!
//! Why per-function costs rather than the difference of two runs (N and 2N items), as the
//! overhead bench does: a component is a part of one request, and a difference of whole
//! runs would mix in everything else the extra items cost (the other layers, the batch
//! processors, the transport). Why read the output file rather than `--toggle-collect`: one
//! run gives every function at once, and a function that is missing is a `None` the
//! benchmark reports by name, where a toggle on a missing function silently counts nothing.
//! If the library renames or inlines one of the functions read here, the benchmark fails
//! saying which one and which names come close.
//!
//! The two layers an event goes through are measured on stacks of their own, because inside
//! the library their `on_event` is inlined into `tracing-subscriber`'s generic filter code:
//! the JSON line is `emit_event` with ordertrail's `JsonLayer` alone on a registry, next to
//! the stock `fmt().json()` alone on a registry, both writing through `tracing-appender`'s
//! non-blocking stdout (so neither pays for the write itself); the OTLP log record is
//! `emit_event` of the whole ordertrail stack minus the same without a logs endpoint.
//!
//! Fixed costs are in: the first span's callsite registration, and each export batch's
//! resource and scope (batches of up to 512; the table says how many there were).

mod count;
mod drive;
mod stacks;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ordertrail_testkit::bench::exported::counts;
use ordertrail_testkit::bench::{Proc, start};
use ordertrail_testkit::free_port;

use count::Counted;
use stacks::Stack;

/// Items (spans, events) per driver run.
const ITEMS: u64 = 2_000;

const OPEN_SPAN: &str = "components::drive::open_span";
const EMIT_EVENT: &str = "components::drive::emit_event";
const END_SPAN: &str = "components::drive::end_span";
const SPANS_ENCODE: &str = "ordertrail::telemetry::wire::spans::export_request";
const LOGS_ENCODE: &str = "ordertrail::telemetry::wire::logs::export_request";
const SDK_SPANS_TRANSFORM: &str =
    "opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope";
const SDK_LOGS_TRANSFORM: &str =
    "opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope";
const SDK_ENCODE: &str = "<tonic_prost::codec::ProstEncoder<T> as tonic::codec::Encoder>::encode";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--drive") {
        let [stack, items, endpoint, service] = [1, 2, 3, 4].map(|k| &args[i + k]);
        let stack = Stack::parse(stack).expect("a stack name");
        drive::run(stack, items.parse().expect("items"), endpoint, service);
        return;
    }
    let mut peer = Peer::start();
    peer.keep = args.iter().any(|a| a == "--keep");
    let runs: Vec<Counted> = Stack::ALL.map(|stack| measure(&peer, stack)).into();
    report(&runs);
    if peer.keep {
        println!("callgrind outputs and logs kept in {}", peer.dir.display());
    }
}

/// One stack under callgrind, checked against what the collector received.
fn measure(peer: &Peer, stack: Stack) -> Counted {
    let service = format!("components-{}-{}", stack.name(), std::process::id());
    let counted = count::run(&peer.dir, stack, ITEMS, &peer.endpoint, &service);
    let expected = stack.exports(ITEMS);
    assert_eq!(
        counts(&peer.dir, &service),
        expected,
        "{}: (spans, log records) at the collector",
        stack.name()
    );
    eprintln!("{:<26} counted, {expected:?} exported", stack.name());
    counted
}

/// `ordertrail collect` on a free port, writing into a scratch directory removed on drop
/// unless kept.
struct Peer {
    dir: PathBuf,
    endpoint: String,
    keep: bool,
    _collector: Proc,
}

impl Peer {
    fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("ordertrail-components-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bench dir");
        let listen = format!("127.0.0.1:{}", free_port());
        let out = dir.to_string_lossy().into_owned();
        let collector = start(
            Path::new(env!("CARGO_BIN_EXE_ordertrail")),
            "1",
            &["collect", "--listen", &listen, "--out", &out],
            &[],
            &dir.join("collector.log"),
        );
        wait_listening(&listen);
        Self {
            dir,
            endpoint: format!("http://{listen}"),
            keep: false,
            _collector: collector,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn wait_listening(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the collector never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The runs of [`Stack::ALL`], in that order.
fn report(runs: &[Counted]) {
    let [ours, no_logs, json, stock_json, usual, sdk_spans, sdk_logs] = runs else {
        unreachable!("one run per stack")
    };
    let sdk = |run: &Counted, transform: &str| {
        (run.inclusive(transform) + run.inclusive(SDK_ENCODE)) as f64 / ITEMS as f64
    };
    let rows: [(&str, f64, Option<f64>); 7] = [
        (
            "span creation (16 fields, whole stack)",
            ours.per_item(OPEN_SPAN),
            Some(usual.per_item(OPEN_SPAN)),
        ),
        (
            "span end (status recorded, closed, queued)",
            ours.per_item(END_SPAN),
            Some(usual.per_item(END_SPAN)),
        ),
        (
            "event, every output of the stack",
            ours.per_item(EMIT_EVENT),
            Some(usual.per_item(EMIT_EVENT)),
        ),
        (
            "event to JSON line (the JSON layer alone)",
            json.per_item(EMIT_EVENT),
            Some(stock_json.per_item(EMIT_EVENT)),
        ),
        (
            "event to OTLP log record (with - without)",
            ours.per_item(EMIT_EVENT) - no_logs.per_item(EMIT_EVENT),
            None,
        ),
        (
            "export encode, per span",
            ours.per_item(SPANS_ENCODE),
            Some(sdk(sdk_spans, SDK_SPANS_TRANSFORM)),
        ),
        (
            "export encode, per log record",
            ours.per_item(LOGS_ENCODE),
            Some(sdk(sdk_logs, SDK_LOGS_TRANSFORM)),
        ),
    ];
    println!("\nInstructions per item (callgrind, inclusive; {ITEMS} spans and events per run)");
    println!("{:<44} {:>12} {:>12}", "component", "ordertrail", "stock");
    for (name, ordertrail, stock) in rows {
        let stock = stock.map_or("-".to_owned(), |s| format!("{:.2}k", s / 1000.0));
        println!("{name:<44} {:>11.2}k {stock:>12}", ordertrail / 1000.0);
    }
    println!(
        "span creation with tracing-opentelemetry alone, set as ordertrail sets it: {:.2}k",
        sdk_spans.per_item(OPEN_SPAN) / 1000.0
    );
    println!(
        "export requests encoded: ordertrail {} of spans, {} of log records; SDK {} of spans, {} of log records",
        ours.calls(SPANS_ENCODE),
        ours.calls(LOGS_ENCODE),
        sdk_spans.calls(SDK_ENCODE),
        sdk_logs.calls(SDK_ENCODE),
    );
}

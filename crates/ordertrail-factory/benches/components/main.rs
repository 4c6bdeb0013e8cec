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
//! - the encoders: ordertrail writes each span (`wire::spans::encode_span`, inside `end_span`)
//!   and each log record (`wire::logs::log_record`, inside `emit_event`) on the caller's thread,
//!   and frames a batch of them (`wire::spans::batch_request`, `wire::logs::export_request`) on
//!   the export thread (private; the drivers reach them through the layers and the processor);
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
mod peer;
mod report;
mod sdk_records;
mod stacks;

use ordertrail_testkit::bench::exported::counts;

use count::Counted;
use peer::Peer;
use stacks::Stack;

/// Items (spans, events) per driver run.
const ITEMS: u64 = 2_000;

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
    let keep = args.iter().any(|a| a == "--keep");
    let peer = Peer::start(keep);
    let runs = Stack::ALL.map(|stack| measure(&peer, stack));
    report::print(&runs, ITEMS);
    if keep {
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

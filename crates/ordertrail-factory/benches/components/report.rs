//! The table: each component's instructions per span or event, ordertrail beside stock.

use crate::count::Counted;

const OPEN_SPAN: &str = "components::drive::open_span";
const EMIT_EVENT: &str = "components::drive::emit_event";
const END_SPAN: &str = "components::drive::end_span";
/// ordertrail writes each span where it ends (inside `end_span`); the export request frames them.
const SPAN_RECORD: &str = "ordertrail::telemetry::wire::spans::encode_span";
const SPANS_ENCODE: &str = "ordertrail::telemetry::wire::spans::batch_request";
const LOGS_ENCODE: &str = "ordertrail::telemetry::wire::logs::export_request";
/// ordertrail writes each log record on the caller's thread; the export request frames them.
const LOG_RECORD: &str = "ordertrail::telemetry::wire::logs::log_record";
const SDK_SPANS_TRANSFORM: &str =
    "opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope";
const SDK_LOGS_TRANSFORM: &str =
    "opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope";
const SDK_ENCODE: &str = "<tonic_prost::codec::ProstEncoder<T> as tonic::codec::Encoder>::encode";

/// One line of the table: what, ordertrail's cost, the stock parts' cost (if any).
type Row = (&'static str, f64, Option<f64>);

/// Prints the table of the runs of [`crate::stacks::Stack::ALL`] (in that order), `items` each.
pub(crate) fn print(runs: &[Counted; 7], items: u64) {
    println!("\nInstructions per item (callgrind, inclusive; {items} spans and events per run)");
    println!("{:<44} {:>12} {:>12}", "component", "ordertrail", "stock");
    for (name, ordertrail, stock) in rows(runs, items) {
        let stock = stock.map_or("-".to_owned(), |s| format!("{:.2}k", s / 1000.0));
        println!("{name:<44} {:>11.2}k {stock:>12}", ordertrail / 1000.0);
    }
    let [ours, .., sdk_spans, sdk_logs] = runs;
    println!(
        "span creation with tracing-opentelemetry alone, set as ordertrail sets it: {:.2}k",
        sdk_spans.per_item(OPEN_SPAN) / 1000.0
    );
    println!(
        "export requests encoded: ordertrail {} of spans, {} of log records; \
         SDK {} of spans, {} of log records",
        ours.calls(SPANS_ENCODE),
        ours.calls(LOGS_ENCODE),
        sdk_spans.calls(SDK_ENCODE),
        sdk_logs.calls(SDK_ENCODE),
    );
}

fn rows(runs: &[Counted; 7], items: u64) -> [Row; 7] {
    let [ours, no_logs, json, stock_json, usual, sdk_spans, sdk_logs] = runs;
    let both = |step: &str| (ours.per_item(step), Some(usual.per_item(step)));
    let sdk = |run: &Counted, transform: &str| {
        (run.inclusive(transform) + run.inclusive(SDK_ENCODE)) as f64 / items as f64
    };
    let rows = [
        ("span creation (16 fields, whole stack)", both(OPEN_SPAN)),
        (
            "span end (status, close; ordertrail: encoded)",
            both(END_SPAN),
        ),
        ("event, every output of the stack", both(EMIT_EVENT)),
        (
            "event to JSON line (the JSON layer alone)",
            (
                json.per_item(EMIT_EVENT),
                Some(stock_json.per_item(EMIT_EVENT)),
            ),
        ),
        (
            "event to OTLP log record (with - without)",
            (
                ours.per_item(EMIT_EVENT) - no_logs.per_item(EMIT_EVENT),
                None,
            ),
        ),
        (
            "export encode, per span",
            (
                ours.per_item(SPAN_RECORD) + ours.per_item(SPANS_ENCODE),
                Some(sdk(sdk_spans, SDK_SPANS_TRANSFORM)),
            ),
        ),
        (
            "export encode, per log record",
            (
                ours.per_item(LOG_RECORD) + ours.per_item(LOGS_ENCODE),
                Some(sdk(sdk_logs, SDK_LOGS_TRANSFORM)),
            ),
        ),
    ];
    rows.map(|(name, (ordertrail, stock))| (name, ordertrail, stock))
}

//! The driver: what `components --drive <stack> <items> <endpoint> <service>` runs under
//! callgrind. It installs one [`Stack`], then makes `items` request-like spans, each holding
//! one completion event, and flushes what the stack exports.
//!
//! The three steps of an item are functions of their own, never inlined, so callgrind counts
//! each one inclusively under a name this benchmark knows: [`open_span`], [`emit_event`] and
//! [`end_span`]. What they hand to other threads (the log line's write, the batch export) is
//! counted by the encoders' own names instead.

use tracing::{Span, field};

use crate::stacks::{self, Stack};

/// What differs between items, made before the measured functions run.
struct Item {
    path: String,
    request_id: String,
}

/// Installs `stack` exporting to `endpoint` as `service`, drives `items` items, flushes.
pub(crate) fn run(stack: Stack, items: u64, endpoint: &str, service: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    // The gRPC exporters connect on this runtime; the items are driven from this thread.
    let _entered = runtime.enter();
    let work: Vec<Item> = (0..items)
        .map(|i| Item {
            path: format!("/orders/{i}"),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .collect();
    let installed = stacks::install(stack, endpoint, service);
    for item in &work {
        let span = open_span(item);
        span.in_scope(emit_event);
        end_span(span);
    }
    let (spans, records) = stack.exports(items);
    installed.finish(spans, records);
}

/// A server span like the one ordertrail's correlation layer makes: 16 fields, 3 of them
/// recorded later.
#[inline(never)]
fn open_span(item: &Item) -> Span {
    tracing::info_span!(
        "request",
        otel.name = "GET /orders/{id}",
        otel.kind = "server",
        otel.status_code = field::Empty,
        service = "components",
        http.request.method = "GET",
        http.route = "/orders/{id}",
        url.path = item.path.as_str(),
        url.scheme = "http",
        server.address = "127.0.0.1",
        server.port = 8080,
        client.address = "127.0.0.1",
        user_agent.original = "components/1",
        network.protocol.version = "1.1",
        http.response.status_code = field::Empty,
        error.type = field::Empty,
        request.id = item.request_id.as_str(),
    )
}

/// The completion event, as the correlation layer writes it.
#[inline(never)]
fn emit_event() {
    tracing::info!(status = 200u16, latency_ms = 0.42, "request completed");
}

/// Records the status and closes the span: from here it is queued for export.
#[inline(never)]
fn end_span(span: Span) {
    span.record("http.response.status_code", 200);
    drop(span);
}

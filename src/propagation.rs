//! W3C Trace Context and Baggage, in and out.
//!
//! Inbound, a server decides what a caller's `traceparent` means ([`InboundTrace`]); outbound,
//! every call carries `traceparent`, `tracestate` and `baggage` of the client span that wraps
//! it; every response carries a `traceresponse` (Trace Context level 2) naming the server span,
//! so a client can jump straight to the trace.
//!
//! # Why the gateway links instead of trusting
//! The gateway faces the internet. Continuing a caller's trace would let any client choose our
//! trace ids (colliding with other traces, or forcing sampling with the sampled flag) and inject
//! baggage that internal services then trust. `link` starts a fresh trace that we own and keeps
//! a span link to the caller's context, so nothing is lost for a caller that does trace; internal
//! services `trust`, because their callers are our own services.

use http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, global};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// What a server does with an inbound `traceparent`, `tracestate` and `baggage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum InboundTrace {
    /// Continue the caller's trace: its span becomes our parent, its baggage ours.
    #[default]
    Trust,
    /// Start a new trace with a span link to the caller's context; ignore its baggage.
    Link,
    /// Start a new trace; keep nothing of the caller's context.
    Ignore,
}

/// Installs the W3C Trace Context + Baggage propagator as the global one.
pub fn install_propagators() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

/// Applies the inbound context in `headers` to `span` (not yet entered) as `policy` says.
pub(crate) fn apply_inbound(span: &Span, headers: &HeaderMap, policy: InboundTrace) {
    if policy == InboundTrace::Ignore
        || !(headers.contains_key("traceparent") || headers.contains_key("baggage"))
    {
        return;
    }
    let cx = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    match policy {
        InboundTrace::Trust => {
            if let Err(err) = span.set_parent(cx) {
                tracing::debug!(error = %err, "inbound trace context not applied");
            }
        }
        InboundTrace::Link => {
            let remote = cx.span().span_context().clone();
            if remote.is_valid() {
                span.add_link(remote);
            }
        }
        InboundTrace::Ignore => {}
    }
}

/// Writes the context of `span` into outgoing `headers` (`traceparent`, `tracestate`,
/// `baggage`). The reqwest middleware does this for every call; use it directly for another
/// HTTP client.
pub fn inject(span: &Span, headers: &mut HeaderMap) {
    let cx = span.context();
    global::get_text_map_propagator(|p| p.inject_context(&cx, &mut HeaderInjector(headers)));
}

/// `traceresponse: 00-<trace id>-<span id>-<flags>` for `span`, when it is traced.
pub(crate) fn traceresponse(span: &Span) -> Option<HeaderValue> {
    let cx: Context = span.context();
    let span_ref = cx.span();
    let sc = span_ref.span_context();
    if !sc.is_valid() {
        return None;
    }
    let value = format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    );
    HeaderValue::from_str(&value).ok()
}

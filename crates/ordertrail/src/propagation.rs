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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

impl InboundTrace {
    /// Every policy with its name, as [`FromStr`](std::str::FromStr) reads it.
    pub const ALL: [(&'static str, Self); 3] =
        [("trust", Self::Trust), ("link", Self::Link), ("ignore", Self::Ignore)];
}

/// The name is not one of `trust`, `link`, `ignore`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown inbound trace policy {0:?} (expected trust, link or ignore)")]
pub struct UnknownPolicy(pub String);

impl std::str::FromStr for InboundTrace {
    type Err = UnknownPolicy;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, policy)| *policy)
            .ok_or_else(|| UnknownPolicy(name.to_owned()))
    }
}

/// Makes `parent` the trace parent of `span` without making it its tracing parent: for work
/// that outlives the request (a dispatch after the response), whose span must join the
/// request's trace but must not keep the request's spans open until it ends. Call it before
/// `span` is first entered. Returns whether the parent was set (not when OpenTelemetry is off
/// or `span` is disabled).
///
/// ```
/// use ordertrail::propagation::set_trace_parent;
///
/// let request = tracing::info_span!("place_order");
/// let dispatch = tracing::info_span!(parent: None, "dispatch");
/// dispatch.follows_from(&request);
/// set_trace_parent(&dispatch, &request);
/// ```
pub fn set_trace_parent(span: &Span, parent: &Span) -> bool {
    span.set_parent(parent.context()).is_ok()
}

/// Installs the W3C Trace Context + Baggage propagator as the global one.
pub fn install_propagators() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

/// Applies the inbound context in `headers` to `span` (not yet entered) as `policy` says.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
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
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
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

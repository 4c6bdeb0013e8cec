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
//!
//! Inbound `baggage` and `tracestate` are bounded before any parser sees them, and `baggage`
//! is parsed only under `trust`: see `inbound.rs` for the limits and the one warning a refused
//! header costs.
//!
//! Work handed over through a table or a queue carries the same context as text: [`Carrier`].

mod carrier;
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
mod inbound;

pub use carrier::{Carrier, FIELDS, MAX_TRACEPARENT_BYTES};
#[cfg_attr(not(feature = "axum"), allow(unused_imports))]
pub(crate) use inbound::apply_inbound;
pub use inbound::{
    MAX_BAGGAGE_BYTES, MAX_BAGGAGE_ENTRIES, MAX_TRACESTATE_BYTES, MAX_TRACESTATE_ENTRIES,
};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, global};
use opentelemetry_http::HeaderInjector;
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
    pub const ALL: [(&'static str, Self); 3] = [
        ("trust", Self::Trust),
        ("link", Self::Link),
        ("ignore", Self::Ignore),
    ];
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

/// The W3C `baggage` header, as a `HeaderName`: a look-up by text parses the name first. The
/// inbound checks and the flight recorder's flags both read it.
pub(crate) const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// Installs the W3C Trace Context + Baggage propagator as the global one.
pub fn install_propagators() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

/// Writes the context of `span` into outgoing `headers` (`traceparent`, `tracestate`,
/// `baggage`). The reqwest middleware does this for every call; use it directly for another
/// HTTP client.
pub fn inject(span: &Span, headers: &mut HeaderMap) {
    let cx = span.context();
    global::get_text_map_propagator(|p| p.inject_context(&cx, &mut HeaderInjector(headers)));
}

/// `traceresponse: 00-<trace id>-<span id>-<flags>` for the entered span, when it is traced.
///
/// Call it with the request span entered: the OpenTelemetry layer makes an entered span's
/// context the active one, which is read here without looking the span up through the
/// subscriber (`Span::context` costs about 2k instructions, this about a tenth of that).
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn traceresponse() -> Option<HeaderValue> {
    let ids = Context::map_current(|cx| {
        let span_ref = cx.span();
        let sc = span_ref.span_context();
        sc.is_valid().then(|| {
            let (trace, span) = (sc.trace_id().to_bytes(), sc.span_id().to_bytes());
            (trace, span, sc.trace_flags().to_u8())
        })
    });
    let (trace_id, span_id, flags) = ids?;
    HeaderValue::from_bytes(&w3c_header(trace_id, span_id, flags)).ok()
}

/// `00-<trace id>-<span id>-<flags>` in lowercase hex, written byte by byte: this runs on every
/// response, and the formatting machinery cost more than the rest of the header.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
fn w3c_header(trace_id: [u8; 16], span_id: [u8; 8], flags: u8) -> [u8; 55] {
    let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
    crate::hex::write(&mut out[3..], &trace_id);
    crate::hex::write(&mut out[36..], &span_id);
    crate::hex::write(&mut out[53..], &[flags]);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    //! Also the tracing support other modules' tests share: [`tracer`], [`traced`], [`trace_id`]
    //! and a caller's context ([`caller_headers`], [`CALLER_TRACE`]).

    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanProcessor};
    use tracing::subscriber::DefaultGuard;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// The spans that ended, as an exporter would receive them.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Ended(Arc<Mutex<Vec<SpanData>>>);

    impl Ended {
        /// The ended span named `name`.
        pub(crate) fn named(&self, name: &str) -> SpanData {
            let spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let found = spans.iter().find(|s| s.name == name);
            found
                .cloned()
                .unwrap_or_else(|| panic!("no ended span {name}"))
        }
    }

    impl SpanProcessor for Ended {
        fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
        fn on_end(&self, span: SpanData) {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(span);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    /// A tracer whose ended spans are collected, with the W3C propagators installed.
    pub(crate) fn tracer() -> (SdkTracer, Ended) {
        install_propagators();
        let ended = Ended::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(ended.clone())
            .build();
        (provider.tracer("ordertrail-test"), ended)
    }

    /// Makes a plain registry the process's global subscriber, once. Tests set thread-local
    /// subscribers while others run with none; a callsite first seen on a thread without any
    /// would cache "never enabled" for every thread (tracing's interest cache), and a test's
    /// request span would then silently not exist. A global registry enables every callsite,
    /// so each thread's own subscriber decides.
    pub(crate) fn enable_every_callsite() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
    }

    /// Traces this thread's spans into OpenTelemetry until the guard is dropped.
    pub(crate) fn traced() -> (DefaultGuard, Ended) {
        enable_every_callsite();
        let (tracer, ended) = tracer();
        let layer = tracing_opentelemetry::layer().with_tracer(tracer);
        let subscriber = tracing_subscriber::registry().with(layer);
        (tracing::subscriber::set_default(subscriber), ended)
    }

    /// The OpenTelemetry trace id of `span`.
    pub(crate) fn trace_id(span: &Span) -> TraceId {
        span.context().span().span_context().trace_id()
    }

    pub(crate) const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER_SPAN: &str = "00f067aa0ba902b7";

    /// A caller's sampled `traceparent` and its `baggage`.
    pub(crate) fn caller_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
        headers.insert("traceparent", HeaderValue::from_str(&traceparent).unwrap());
        headers.insert("baggage", HeaderValue::from_static("tenant=acme"));
        headers
    }

    /// A server span given the caller's context as `policy` says: its context while open, and
    /// what was exported when it ended.
    fn serve(policy: InboundTrace) -> (Context, SpanData) {
        let (_guard, ended) = traced();
        let span = tracing::info_span!("request");
        apply_inbound(&span, &caller_headers(), policy);
        let cx = span.context();
        drop(span);
        (cx, ended.named("request"))
    }

    fn caller_trace() -> TraceId {
        TraceId::from_hex(CALLER_TRACE).unwrap()
    }

    fn tenant(cx: &Context) -> Option<String> {
        cx.baggage().get("tenant").map(ToString::to_string)
    }

    #[test]
    fn trust_continues_the_callers_trace_with_its_baggage() {
        let (cx, exported) = serve(InboundTrace::Trust);
        assert_eq!(cx.span().span_context().trace_id(), caller_trace());
        assert_eq!(
            exported.parent_span_id,
            SpanId::from_hex(CALLER_SPAN).unwrap()
        );
        assert_eq!(tenant(&cx).as_deref(), Some("acme"));
    }

    #[test]
    fn link_starts_a_new_trace_linked_to_the_caller() {
        let (cx, exported) = serve(InboundTrace::Link);
        let trace = cx.span().span_context().trace_id();
        assert!(
            trace != caller_trace() && trace != TraceId::INVALID,
            "{trace}"
        );
        assert_eq!(exported.parent_span_id, SpanId::INVALID);
        let [link] = &exported.links.links[..] else {
            panic!("expected one link, got {:?}", exported.links.links);
        };
        assert_eq!(link.span_context.trace_id(), caller_trace());
        assert_eq!(
            link.span_context.span_id(),
            SpanId::from_hex(CALLER_SPAN).unwrap()
        );
        assert_eq!(tenant(&cx), None, "the caller's baggage is not ours");
    }

    #[test]
    fn ignore_starts_a_new_trace_and_keeps_nothing() {
        let (cx, exported) = serve(InboundTrace::Ignore);
        let trace = cx.span().span_context().trace_id();
        assert!(
            trace != caller_trace() && trace != TraceId::INVALID,
            "{trace}"
        );
        assert_eq!(exported.parent_span_id, SpanId::INVALID);
        assert!(exported.links.links.is_empty());
        assert_eq!(tenant(&cx), None);
    }

    #[test]
    fn inbound_trace_reads_its_names_in_any_case() {
        assert_eq!("trust".parse(), Ok(InboundTrace::Trust));
        assert_eq!("Link".parse(), Ok(InboundTrace::Link));
        assert_eq!(" IGNORE ".parse(), Ok(InboundTrace::Ignore));
        for (name, policy) in InboundTrace::ALL {
            assert_eq!(name.parse(), Ok(policy));
        }
        let err = "follow".parse::<InboundTrace>().unwrap_err();
        assert_eq!(err, UnknownPolicy("follow".to_owned()));
        assert!(err.to_string().contains("trust, link or ignore"), "{err}");
        assert_eq!(InboundTrace::default(), InboundTrace::Trust);
    }

    #[test]
    fn set_trace_parent_joins_the_parents_trace() {
        let (guard, ended) = traced();
        let request = tracing::info_span!("place_order");
        let dispatch = tracing::info_span!(parent: None, "dispatch");
        let unrelated = tracing::info_span!(parent: None, "unrelated");
        assert!(set_trace_parent(&dispatch, &request));
        assert_eq!(trace_id(&dispatch), trace_id(&request));
        assert_ne!(trace_id(&unrelated), trace_id(&request));
        let request_span = request.context().span().span_context().span_id();
        drop((dispatch, unrelated, request, guard));
        assert_eq!(ended.named("dispatch").parent_span_id, request_span);
    }

    #[test]
    fn set_trace_parent_reports_when_it_cannot() {
        let (guard, _ended) = traced();
        let request = tracing::info_span!("place_order");
        let started = tracing::info_span!(parent: None, "started");
        drop(started.enter());
        assert!(
            !set_trace_parent(&started, &request),
            "too late once entered"
        );
        drop(guard);
        let _plain = tracing::subscriber::set_default(tracing_subscriber::registry());
        let span = tracing::info_span!("untraced");
        assert!(!set_trace_parent(&span, &tracing::info_span!("parent")));
    }

    #[test]
    fn inject_writes_the_spans_context_and_the_callers_baggage() {
        let (_guard, _ended) = traced();
        let request = tracing::info_span!("request");
        apply_inbound(&request, &caller_headers(), InboundTrace::Trust);
        let call = tracing::info_span!(parent: &request, "call");
        let mut headers = HeaderMap::new();
        inject(&call, &mut headers);
        let sc = call.context().span().span_context().clone();
        let expected = format!("00-{CALLER_TRACE}-{}-01", sc.span_id());
        assert_eq!(headers["traceparent"], expected.as_str());
        assert_eq!(headers["baggage"], "tenant=acme");
    }

    #[test]
    fn traceresponse_names_the_server_span() {
        let (_guard, _ended) = traced();
        let span = tracing::info_span!("request");
        let sc = span.context().span().span_context().clone();
        let expected = format!("00-{}-{}-01", sc.trace_id(), sc.span_id());
        assert_eq!(span.in_scope(traceresponse).unwrap(), expected.as_str());
        assert_eq!(traceresponse(), None, "no span entered, no header");
    }

    #[test]
    fn the_w3c_header_is_lowercase_hex_in_its_places() {
        let trace = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        let span = SpanId::from_hex("b7ad6b7169203331").unwrap();
        let value = w3c_header(trace.to_bytes(), span.to_bytes(), 0x01);
        assert_eq!(
            &value,
            b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        assert_eq!(&w3c_header([0xff; 16], [0; 8], 0xab)[..5], b"00-ff");
        assert_eq!(&w3c_header([0xff; 16], [0; 8], 0xab)[50..], b"00-ab");
    }

    #[test]
    fn no_traceresponse_without_opentelemetry() {
        let _plain = tracing::subscriber::set_default(tracing_subscriber::registry());
        assert_eq!(tracing::info_span!("request").in_scope(traceresponse), None);
    }
}

//! [`Carrier`]: the request id and the W3C context of a span as text, for work handed over
//! through a table or a queue.

use std::collections::HashMap;

use opentelemetry::global;
use opentelemetry::propagation::{Extractor, Injector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::inbound::{check_baggage, check_tracestate};
use crate::correlation::{self, RequestId};

/// The longest `traceparent` read (version `00` is 55 bytes; later versions may append).
pub const MAX_TRACEPARENT_BYTES: usize = 256;

/// The field names, as header names: `X-Request-ID`, `traceparent`, `tracestate`, `baggage`.
pub const FIELDS: [&str; 4] = [REQUEST_ID, TRACEPARENT, TRACESTATE, BAGGAGE];

const REQUEST_ID: &str = "X-Request-ID";
const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";

/// The request id and the W3C context of a span as a few strings, for work that
/// leaves the request's task through something other than an HTTP call — a row written now and
/// read later (a transactional outbox), a message on a queue.
///
/// The task-local id and the span's context end with the task. To carry them across, write
/// them out as text where the work is handed over, and read them back where it is picked up:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::collections::HashMap;
/// use ordertrail::correlation::{self, RequestId};
/// use ordertrail::propagation::Carrier;
///
/// // Where the work is handed over: inside the request.
/// let id: RequestId = "order-1".parse().unwrap();
/// let headers: HashMap<&str, String> = correlation::scope(id, async {
///     let span = tracing::info_span!("publish", otel.kind = "producer");
///     let carrier = Carrier::capture(&span);
///     carrier.fields().map(|(k, v)| (k, v.to_owned())).collect()
/// })
/// .await;
///
/// // Where it is picked up: another task, another process.
/// let carrier = Carrier::extract(|name| headers.get(name).map(String::as_str));
/// let span = tracing::info_span!("process", otel.kind = "consumer");
/// carrier.set_parent_of(&span);
/// let id = carrier.request_id().cloned().unwrap();
/// correlation::scope(id, async {
///     assert_eq!(correlation::current().unwrap().as_str(), "order-1");
/// })
/// .await;
/// # }
/// ```
///
/// # Bounds
/// A carrier read from outside ([`Carrier::extract`]) holds only values within the limits of
/// inbound HTTP headers: a request id [`RequestId::parse`] accepts, a `traceparent` of at most
/// [`MAX_TRACEPARENT_BYTES`], a `tracestate` and a `baggage` within
/// [`MAX_TRACESTATE_BYTES`](super::MAX_TRACESTATE_BYTES) and
/// [`MAX_BAGGAGE_BYTES`](super::MAX_BAGGAGE_BYTES) and their entry limits. A value out of
/// bounds is dropped alone; the others still apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carrier {
    request_id: Option<RequestId>,
    traceparent: Option<String>,
    tracestate: Option<String>,
    baggage: Option<String>,
}

impl Carrier {
    /// The current request id ([`correlation::current`]) and the context of `span`: its trace
    /// and span id, its `tracestate`, and the baggage of its context.
    pub fn capture(span: &Span) -> Self {
        let mut fields = Fields::default();
        let cx = span.context();
        global::get_text_map_propagator(|p| p.inject_context(&cx, &mut fields));
        let mut take = |name: &str| fields.0.remove(name).filter(|v| !v.is_empty());
        Self {
            request_id: correlation::current(),
            traceparent: take(TRACEPARENT),
            tracestate: take(TRACESTATE),
            baggage: take(BAGGAGE),
        }
    }

    /// A carrier from stored or received fields, looked up by the names in [`FIELDS`], each
    /// kept only within its bounds (see [Bounds](Carrier#bounds)).
    pub fn extract<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let traceparent = get(TRACEPARENT).filter(|v| v.len() <= MAX_TRACEPARENT_BYTES);
        Self {
            request_id: get(REQUEST_ID).and_then(|v| RequestId::parse(v.as_bytes()).ok()),
            traceparent: traceparent.map(str::to_owned),
            tracestate: get(TRACESTATE)
                .filter(|v| check_tracestate(v).is_ok())
                .map(str::to_owned),
            baggage: get(BAGGAGE)
                .filter(|v| check_baggage(v).is_ok())
                .map(str::to_owned),
        }
    }

    /// The fields that are set, as `(name, value)` with the names of [`FIELDS`].
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let id = self.request_id.as_ref().map(RequestId::as_str);
        [
            (REQUEST_ID, id),
            (TRACEPARENT, self.traceparent.as_deref()),
            (TRACESTATE, self.tracestate.as_deref()),
            (BAGGAGE, self.baggage.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }

    /// The value of the field `name` (one of [`FIELDS`]), when set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The request id carried, if any.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// This carrier with `id` as its request id.
    #[must_use]
    pub fn with_request_id(mut self, id: Option<RequestId>) -> Self {
        self.request_id = id;
        self
    }

    /// Makes the carried context the parent of `span` (not yet entered), baggage included:
    /// `span` continues the carried trace. Returns whether a parent was set (not when no
    /// valid `traceparent` is carried, OpenTelemetry is off, or `span` is disabled).
    pub fn set_parent_of(&self, span: &Span) -> bool {
        let cx = global::get_text_map_propagator(|p| p.extract(self));
        let valid = {
            use opentelemetry::trace::TraceContextExt as _;
            cx.span().span_context().is_valid()
        };
        valid && span.set_parent(cx).is_ok()
    }

    /// Adds a span link from `span` to the carried context: for work that handles many
    /// carried items at once (a batch), whose span can have one parent but many links.
    /// Returns whether a link was added.
    pub fn link_from(&self, span: &Span) -> bool {
        use opentelemetry::trace::TraceContextExt as _;
        let cx = global::get_text_map_propagator(|p| p.extract(self));
        let remote = cx.span().span_context().clone();
        remote.is_valid() && {
            span.add_link(remote);
            true
        }
    }
}

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        FIELDS
            .iter()
            .find(|name| name.eq_ignore_ascii_case(key))
            .and_then(|name| Carrier::get(self, name))
    }

    fn keys(&self) -> Vec<&str> {
        self.fields().map(|(name, _)| name).collect()
    }
}

/// What the propagators write.
#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Injector for Fields {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::{SpanId, TraceContextExt};

    use super::*;
    use crate::propagation::tests::{CALLER_TRACE, caller_headers, traced};
    use crate::propagation::{InboundTrace, apply_inbound};

    fn id(text: &str) -> RequestId {
        text.parse().unwrap()
    }

    /// The carrier of a span continuing the caller's trace, inside request `req-1`.
    async fn captured() -> (Carrier, SpanId) {
        let span = tracing::info_span!("publish");
        apply_inbound(&span, &caller_headers(), InboundTrace::Trust);
        let span_id = span.context().span().span_context().span_id();
        let carrier = correlation::scope(id("req-1"), async { Carrier::capture(&span) }).await;
        (carrier, span_id)
    }

    #[tokio::test]
    async fn capture_holds_the_id_the_span_and_its_baggage() {
        let (_guard, _ended) = traced();
        let (carrier, span_id) = captured().await;
        assert_eq!(carrier.request_id(), Some(&id("req-1")));
        let expected = format!("00-{CALLER_TRACE}-{span_id}-01");
        assert_eq!(carrier.get("traceparent"), Some(expected.as_str()));
        assert_eq!(carrier.get("baggage"), Some("tenant=acme"));
        assert_eq!(carrier.get("tracestate"), None, "empty tracestate not kept");
    }

    #[tokio::test]
    async fn a_carrier_read_back_makes_the_writer_the_parent() {
        let (guard, ended) = traced();
        let (carrier, span_id) = captured().await;
        let stored: HashMap<&str, String> =
            carrier.fields().map(|(k, v)| (k, v.to_owned())).collect();
        let read = Carrier::extract(|name| stored.get(name).map(String::as_str));
        assert_eq!(read, carrier);
        let process = tracing::info_span!(parent: None, "process");
        assert!(read.set_parent_of(&process));
        let cx = process.context();
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            CALLER_TRACE
        );
        assert_eq!(
            cx.baggage().get("tenant").map(|v| v.to_string()).as_deref(),
            Some("acme")
        );
        drop((process, guard));
        assert_eq!(ended.named("process").parent_span_id, span_id);
    }

    #[tokio::test]
    async fn link_from_links_without_joining_the_trace() {
        let (guard, ended) = traced();
        let (carrier, span_id) = captured().await;
        let batch = tracing::info_span!(parent: None, "batch");
        assert!(carrier.link_from(&batch));
        assert_ne!(
            batch.context().span().span_context().trace_id().to_string(),
            CALLER_TRACE
        );
        drop((batch, guard));
        let links = ended.named("batch").links.links;
        assert_eq!(links[0].span_context.span_id(), span_id);
    }

    #[test]
    fn extract_drops_each_value_out_of_bounds_alone() {
        let long_parent = format!("00-{}", "a".repeat(MAX_TRACEPARENT_BYTES));
        let many_states = vec!["k=v"; 33].join(",");
        let bad = |name: &str| match name {
            "X-Request-ID" => Some("bad id\r\n"),
            "traceparent" => Some(long_parent.as_str()),
            "tracestate" => Some(many_states.as_str()),
            "baggage" => Some("no-equals-sign"),
            _ => None,
        };
        assert_eq!(Carrier::extract(bad), Carrier::default());
        let good = |name: &str| match name {
            "X-Request-ID" => Some("order-7"),
            "tracestate" => Some("a=1"),
            _ => bad(name),
        };
        let carrier = Carrier::extract(good);
        let fields: Vec<_> = carrier.fields().collect();
        assert_eq!(fields, [("X-Request-ID", "order-7"), ("tracestate", "a=1")]);
    }

    #[test]
    fn nothing_carried_sets_no_parent() {
        let (_guard, _ended) = traced();
        let span = tracing::info_span!("process");
        assert!(!Carrier::default().set_parent_of(&span));
        assert!(!Carrier::default().link_from(&span));
        let with_id = Carrier::default().with_request_id(Some(id("x")));
        assert_eq!(
            with_id.fields().collect::<Vec<_>>(),
            [("X-Request-ID", "x")]
        );
    }
}

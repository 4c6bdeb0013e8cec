//! Reading a caller's context ([`apply_inbound`]), with `baggage` and `tracestate` bounded
//! before any parser sees them.
//!
//! # Why check before parsing
//! The OpenTelemetry SDK's baggage propagator writes one warning per malformed entry, each
//! holding the whole header: one 8 KB header made of 64 bad entries became 64 log lines and
//! half a megabyte, outside any request span, so without a request id. Here a header is checked
//! once, cheaply, and either handed to the propagator whole or hidden from it; a hidden header
//! costs one warning per request, written in the request span (so it carries the request id),
//! naming the header, its length and the reason, never its value (it may hold a secret).
//!
//! # Limits
//! - `baggage` is read only by [`InboundTrace::Trust`] (the other policies ignore it, so it is
//!   not parsed at all): at most [`MAX_BAGGAGE_BYTES`] bytes and [`MAX_BAGGAGE_ENTRIES`]
//!   entries, the limits of the OpenTelemetry SDK (W3C Baggage asks for at least 8192 bytes and
//!   64 entries, the SDK takes no more), each entry `name=value` with a token name and a
//!   well-formed percent-encoded value. Otherwise the whole header is ignored.
//! - `tracestate`: at most [`MAX_TRACESTATE_BYTES`] bytes and [`MAX_TRACESTATE_ENTRIES`]
//!   entries (W3C Trace Context). Otherwise it is ignored and the `traceparent` still applies.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::global;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{BAGGAGE, InboundTrace};

/// The longest `baggage` header read, in bytes.
pub const MAX_BAGGAGE_BYTES: usize = 8192;
/// The most `baggage` entries read.
pub const MAX_BAGGAGE_ENTRIES: usize = 64;
/// The longest `tracestate` header read, in bytes.
pub const MAX_TRACESTATE_BYTES: usize = 512;
/// The most `tracestate` entries read.
pub const MAX_TRACESTATE_ENTRIES: usize = 32;

/// Why an inbound header was ignored. Holds lengths and positions, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// Longer than the limit.
    #[error("longer than {limit} bytes")]
    TooLong { limit: usize },
    /// More entries than the limit.
    #[error("more than {limit} entries")]
    TooManyEntries { limit: usize },
    /// An entry is not `name=value`, or its value is not well percent-encoded UTF-8.
    #[error("entry {index} is malformed")]
    Malformed { index: usize },
    /// Not visible ASCII.
    #[error("not visible ASCII")]
    NotText,
}

// `HeaderName`s rather than text: a look-up by text parses the name first.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Applies the inbound context in `headers` to `span` (not yet entered) as `policy` says.
pub(crate) fn apply_inbound(span: &Span, headers: &HeaderMap, policy: InboundTrace) {
    let trust = policy == InboundTrace::Trust;
    let wanted = headers.contains_key(TRACEPARENT) || (trust && headers.contains_key(BAGGAGE));
    if policy == InboundTrace::Ignore || !wanted {
        return;
    }
    let inbound = Inbound::checked(headers, trust);
    let cx = global::get_text_map_propagator(|p| p.extract(&inbound));
    if trust {
        if let Err(err) = span.set_parent(cx) {
            tracing::debug!(error = %err, "inbound trace context not applied");
        }
    } else {
        let remote = cx.span().span_context().clone();
        if remote.is_valid() {
            span.add_link(remote);
        }
    }
    inbound.warn_once(span);
}

/// The inbound headers as the propagators see them: a refused header is absent.
struct Inbound<'a> {
    headers: &'a HeaderMap,
    baggage: Option<Result<usize, (usize, Refused)>>,
    tracestate: Option<Result<usize, (usize, Refused)>>,
}

impl<'a> Inbound<'a> {
    /// Checks `tracestate`, and `baggage` when it is `wanted`.
    fn checked(headers: &'a HeaderMap, wanted: bool) -> Self {
        let check = |name: HeaderName, f: fn(&str) -> Result<(), Refused>| {
            let value = headers.get(name)?;
            let len = value.len();
            Some(checked_text(value, f).map(|()| len).map_err(|r| (len, r)))
        };
        Self {
            headers,
            baggage: wanted.then(|| check(BAGGAGE, check_baggage)).flatten(),
            tracestate: check(TRACESTATE, check_tracestate),
        }
    }

    /// One warning for the refused headers, if any, inside `span`.
    fn warn_once(&self, span: &Span) {
        let refused = |h: &Option<Result<usize, (usize, Refused)>>| h.and_then(Result::err);
        let (baggage, tracestate) = (refused(&self.baggage), refused(&self.tracestate));
        if baggage.is_none() && tracestate.is_none() {
            return;
        }
        span.in_scope(|| {
            tracing::warn!(
                baggage_len = baggage.map(|(len, _)| len),
                baggage_refused = baggage.map(|(_, r)| tracing::field::display(r)),
                tracestate_len = tracestate.map(|(len, _)| len),
                tracestate_refused = tracestate.map(|(_, r)| tracing::field::display(r)),
                "ignored an inbound context header"
            );
        });
    }
}

impl Extractor for Inbound<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let admitted = match key {
            "baggage" => self.baggage.is_some_and(|c| c.is_ok()),
            "tracestate" => self.tracestate.is_some_and(|c| c.is_ok()),
            _ => true,
        };
        admitted.then(|| self.headers.get(key)?.to_str().ok())?
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(http::HeaderName::as_str).collect()
    }
}

fn checked_text(
    value: &HeaderValue,
    check: fn(&str) -> Result<(), Refused>,
) -> Result<(), Refused> {
    check(value.to_str().map_err(|_| Refused::NotText)?)
}

/// The `baggage` limits (see the module docs).
pub(super) fn check_baggage(text: &str) -> Result<(), Refused> {
    check_size(text, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_ENTRIES)?;
    match text.split(',').position(|entry| !baggage_entry_ok(entry)) {
        Some(index) => Err(Refused::Malformed { index }),
        None => Ok(()),
    }
}

/// The `tracestate` limits (see the module docs).
pub(super) fn check_tracestate(text: &str) -> Result<(), Refused> {
    check_size(text, MAX_TRACESTATE_BYTES, MAX_TRACESTATE_ENTRIES)
}

fn check_size(text: &str, bytes: usize, entries: usize) -> Result<(), Refused> {
    if text.len() > bytes {
        return Err(Refused::TooLong { limit: bytes });
    }
    if text
        .split(',')
        .filter(|e| !e.trim().is_empty())
        .nth(entries)
        .is_some()
    {
        return Err(Refused::TooManyEntries { limit: entries });
    }
    Ok(())
}

/// `name=value` (properties after `;` allowed): a token name, a value that percent-decodes to
/// UTF-8.
fn baggage_entry_ok(entry: &str) -> bool {
    let member = entry.split(';').next().unwrap_or_default();
    let Some((name, value)) = member.split_once('=') else {
        return false;
    };
    let name = name.trim();
    !name.is_empty() && name.bytes().all(is_token) && percent_decodes(value.trim())
}

/// An RFC 7230 `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether every `%` starts a `%XX` escape and the decoded bytes are UTF-8.
fn percent_decodes(text: &str) -> bool {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b != b'%' {
            bytes.push(b);
            rest = tail;
            continue;
        }
        let hex = |i: usize| tail.get(i).and_then(|d| (*d as char).to_digit(16));
        let (Some(high), Some(low)) = (hex(0), hex(1)) else {
            return false;
        };
        bytes.push((high * 16 + low) as u8);
        rest = &tail[2..];
    }
    String::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex, PoisonError};

    use opentelemetry::Context;
    use opentelemetry::baggage::BaggageExt;
    use tracing::field::Field;
    use tracing::{Event, Level, Subscriber};
    use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};
    use tracing_subscriber::registry::LookupSpan;

    use super::*;
    use crate::propagation::tests::{CALLER_TRACE, caller_headers, tracer};

    /// Every WARN or ERROR event: the span it was written in, and its fields.
    #[derive(Debug, Clone, Default)]
    struct Warnings(Arc<Mutex<Vec<(String, String)>>>);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Warnings {
        fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
            if *event.metadata().level() > Level::WARN {
                return;
            }
            let span = ctx.event_span(event).map(|s| s.name().to_owned());
            let mut fields = String::new();
            event.record(&mut |f: &Field, v: &dyn std::fmt::Debug| {
                let _ = write!(fields, "{}={v:?} ", f.name());
            });
            let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            all.push((span.unwrap_or_default(), fields));
        }
    }

    /// A request span given `headers` under `policy`: its context, and the warnings written.
    fn serve(headers: &HeaderMap, policy: InboundTrace) -> (Context, Vec<(String, String)>) {
        let (tracer, _ended) = tracer();
        let warnings = Warnings::default();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(tracer))
            .with(warnings.clone());
        let cx = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request");
            apply_inbound(&span, headers, policy);
            span.context()
        });
        let written = warnings.0.lock().unwrap().clone();
        (cx, written)
    }

    /// The caller's headers with `name: value`.
    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = caller_headers();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    /// 7.7 KB of 64 entries without `=`, as in the incident.
    fn malformed_baggage() -> String {
        vec![format!("SECRET{}", "x".repeat(113)); 64].join(",")
    }

    #[test]
    fn a_malformed_baggage_is_one_warning_in_the_span_without_its_value() {
        let baggage = malformed_baggage();
        let (cx, warnings) = serve(&with("baggage", &baggage), InboundTrace::Trust);
        let [(span, fields)] = &warnings[..] else {
            panic!("expected one warning, got {warnings:#?}");
        };
        assert_eq!(span, "request");
        assert!(!fields.contains("SECRET"), "{fields}");
        assert!(
            fields.contains(&format!("baggage_len={}", baggage.len())),
            "{fields}"
        );
        assert!(fields.contains("entry 0 is malformed"), "{fields}");
        assert_eq!(cx.baggage().len(), 0);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            CALLER_TRACE
        );
    }

    #[test]
    fn link_and_ignore_never_read_the_baggage() {
        for policy in [InboundTrace::Link, InboundTrace::Ignore] {
            let (_cx, warnings) = serve(&with("baggage", &malformed_baggage()), policy);
            assert!(warnings.is_empty(), "{policy:?}: {warnings:#?}");
        }
    }

    #[test]
    fn an_oversized_tracestate_is_dropped_and_the_parent_kept() {
        let entries: Vec<String> = (0..=MAX_TRACESTATE_ENTRIES)
            .map(|i| format!("k{i}=v"))
            .collect();
        let (cx, warnings) = serve(&with("tracestate", &entries.join(",")), InboundTrace::Trust);
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        assert!(
            warnings[0].1.contains("more than 32 entries"),
            "{warnings:#?}"
        );
        let sc = cx.span().span_context().clone();
        assert_eq!(sc.trace_id().to_string(), CALLER_TRACE);
        assert_eq!(sc.trace_state().header(), "");
        assert_eq!(
            cx.baggage().get("tenant").map(|v| v.to_string()).as_deref(),
            Some("acme")
        );
    }

    #[test]
    fn a_tracestate_within_limits_is_kept() {
        let (cx, warnings) = serve(&with("tracestate", "a=1,b=2"), InboundTrace::Trust);
        assert!(warnings.is_empty(), "{warnings:#?}");
        assert_eq!(cx.span().span_context().trace_state().header(), "a=1,b=2");
    }

    #[test]
    fn baggage_limits_hold_at_their_edges() {
        let entries = |n: usize| vec!["k=v"; n].join(",");
        assert_eq!(check_baggage(&entries(MAX_BAGGAGE_ENTRIES)), Ok(()));
        assert_eq!(
            check_baggage(&entries(MAX_BAGGAGE_ENTRIES + 1)),
            Err(Refused::TooManyEntries { limit: 64 })
        );
        let long = format!("k={}", "v".repeat(MAX_BAGGAGE_BYTES - 2));
        assert_eq!(check_baggage(&long), Ok(()));
        assert_eq!(
            check_baggage(&format!("{long}v")),
            Err(Refused::TooLong { limit: 8192 })
        );
        assert_eq!(check_baggage("a=1;prop, b = %E2%82%AC"), Ok(()));
        for (bad, index) in [
            ("a=1,,b=2", 1),
            ("a=%zz", 0),
            ("a=1,b c=2", 1),
            ("a=%FF", 0),
        ] {
            assert_eq!(
                check_baggage(bad),
                Err(Refused::Malformed { index }),
                "{bad}"
            );
        }
    }
}

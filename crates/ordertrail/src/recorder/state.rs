//! [`RequestState`]: a request's buffer and signals, kept in its span's extensions, and the
//! hooks the server middleware and the outgoing client call.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use tracing::{Dispatch, Span};
use tracing_subscriber::Registry;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::baggage::{self, DEBUG_FLAG, KEEP_FLAG};
use super::buffer::Buffer;
use super::hold::discard;
use super::kept::KeptEvent;
use super::layer::{Recorder, Shared};
use super::stats::Count;
use super::token::DEBUG_HEADER_NAME;
use super::trigger::{Signals, Trigger, decide};
use crate::correlation::RequestId;

/// One running request, as the recorder sees it. Dropped with its span when the request is
/// abandoned (a client gone): then its events are discarded and counted, and its bytes freed.
pub(crate) struct RequestState {
    shared: Arc<Shared>,
    id: RequestId,
    buffer: Buffer,
    pub(crate) signals: Signals,
    /// Whether its detail is held after an unremarkable completion: only where a caller can
    /// ask for it later (a server that trusts its callers' baggage; never the public edge).
    holds: bool,
}

impl RequestState {
    /// Keeps `event` within the request's bounds and the global budget.
    pub(crate) fn keep(&mut self, event: KeptEvent) {
        let shared = &self.shared;
        let limits = shared.limits();
        self.buffer
            .push(event, limits, &shared.stats, |n| shared.reserve(n));
    }

    fn take_buffer(&mut self) -> Buffer {
        let empty = Buffer::new(Arc::clone(&self.shared.budget));
        std::mem::replace(&mut self.buffer, empty)
    }

    /// Decides, then replays (earlier hops' held detail of the same id first) or holds.
    fn complete(mut self, status: u16, latency: Duration) -> Option<Trigger> {
        let shared = Arc::clone(&self.shared);
        let buffer = self.take_buffer();
        let Some(trigger) = decide(&self.signals, status, latency, &shared.config) else {
            if self.holds && buffer.len() > 0 {
                shared.held.put(self.id.clone(), buffer, &shared.stats);
            } else {
                discard(buffer, &shared.stats);
            }
            return None;
        };
        let mut events = buffer.len();
        for held in shared.held.take(&self.id, &shared.stats) {
            shared.replay(&held, trigger);
            events += held.len();
        }
        shared.replay(&buffer, trigger);
        shared
            .stats
            .add(Count::ReplayedRequests, u64::from(events > 0));
        Some(trigger)
    }
}

impl Drop for RequestState {
    fn drop(&mut self) {
        let buffer = self.take_buffer();
        discard(buffer, &self.shared.stats);
    }
}

/// Runs `f` on the state of the request the current span belongs to.
fn with_current<R>(f: impl FnOnce(&mut RequestState) -> R) -> Option<R> {
    Span::current()
        .with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let span = registry.span(id)?;
            let request = span
                .scope()
                .find(|s| s.extensions().get::<RequestState>().is_some())?;
            let mut ext = request.extensions_mut();
            ext.get_mut::<RequestState>().map(f)
        })
        .flatten()
}

/// Starts recording the request whose span (not yet entered) is `data`, with id `id`, when
/// `dispatch` has a recorder. A server that `trusts_baggage` reads the recorder's flags from
/// its caller's `baggage`; one that does not (the public edge) removes them, and honours only a
/// valid debug token.
pub(crate) fn begin(
    dispatch: &Dispatch,
    data: &SpanRef<'_, Registry>,
    id: &RequestId,
    headers: &mut HeaderMap,
    trusts_baggage: bool,
) {
    let Some(recorder) = dispatch.downcast_ref::<Recorder>() else {
        return;
    };
    let shared = &recorder.shared;
    let signals = inbound_signals(shared, id, headers, trusts_baggage);
    let state = RequestState {
        shared: Arc::clone(shared),
        id: id.clone(),
        buffer: Buffer::new(Arc::clone(&shared.budget)),
        signals,
        holds: trusts_baggage,
    };
    data.extensions_mut().insert(state);
}

fn inbound_signals(
    shared: &Shared,
    id: &RequestId,
    headers: &mut HeaderMap,
    trusts_baggage: bool,
) -> Signals {
    let mut signals = Signals::default();
    if trusts_baggage {
        let flags = baggage::read(headers);
        signals.debug = flags.debug;
        signals.caller_keeps = flags.keep;
    } else if baggage::strip(headers) {
        shared.stats.add(Count::FlagsStripped, 1);
    }
    if let Some(token) = headers.get(DEBUG_HEADER_NAME) {
        let valid = shared
            .key
            .as_ref()
            .is_some_and(|key| key.verify(id.as_str(), token.as_bytes()));
        signals.debug |= valid;
        if !valid {
            shared.stats.add(Count::DebugRefused, 1);
        }
    }
    if signals.debug {
        shared.stats.add(Count::DebugHonoured, 1);
    }
    signals
}

/// Ends the request of `span`: replays its detail, holds it, or discards it. Returns the
/// trigger when it replayed. Call it before the completion event, so replayed lines come
/// first.
pub(crate) fn finish(span: &Span, status: u16, latency: Duration) -> Option<Trigger> {
    // The state carries what it needs of the recorder: only the span is looked up.
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let state = registry.span(id)?.extensions_mut().remove::<RequestState>();
        state.and_then(|state| state.complete(status, latency))
    })
    .flatten()
}

/// Tells the callee of an outgoing call what this request decided so far: the debug flag, or
/// the keep flag once a failure was seen.
pub(crate) fn outgoing(headers: &mut HeaderMap) {
    let flag = with_current(|state| match state.signals.early() {
        Some(Trigger::Debug) => Some(DEBUG_FLAG),
        Some(_) => Some(KEEP_FLAG),
        None => None,
    });
    if let Some(Some(flag)) = flag {
        baggage::append(headers, flag);
    }
}

/// Notes that a call of the current request failed (5xx, unreachable, timed out).
pub(crate) fn downstream_failed() {
    with_current(|state| state.signals.downstream_failed = true);
}

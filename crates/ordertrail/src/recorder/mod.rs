//! The flight recorder: every `DEBUG` line of a failed or slow request, and none of the others.
//!
//! Services log at `INFO` because writing `DEBUG` everywhere costs too much; then the one order
//! that failed has no detail. The recorder keeps, per request, the events the outputs filter
//! out — in the request span, in its child spans, in work started with
//! [`correlation::spawn`](crate::correlation::spawn) or
//! [`spawn_blocking`](crate::correlation::spawn_blocking), and the library's own events — and
//! when the request completes:
//!
//! - if it failed or was slow, writes them to every output (JSON lines, human lines, OTLP log
//!   records) in their order, with their own timestamps, marked `"replayed": true` and
//!   `"replay_trigger"` (plus `"replay_dropped"` when its bounds dropped some), **before** the
//!   completion line, and answers with a `x-ordertrail-replay: <trigger>` header;
//! - otherwise holds them a few seconds (see *Across services*), then discards and counts them.
//!
//! The triggers ([`Trigger`]): a debug request, a caller's keep flag, a panic, a 5xx, a
//! configured status, an `ERROR` event in the request, a failed downstream call, a latency
//! over the threshold.
//!
//! # How events reach it
//! Each output has its own filter (`info` by default), and the recorder has another
//! ([`Recorder::filter`]): the events the outputs leave out, down to `DEBUG`. `tracing` then
//! enables the `DEBUG` callsites, and an event outside any request costs one look-up of its
//! request span. A global `EnvFilter` at `info` would disable them before any layer saw them.
//!
//! # Bounds
//! Per request: events and bytes ([`RecorderConfig::per_request`]); past them, the oldest
//! events go first and the replay says how many (`replay_dropped`). Across all requests, in
//! flight and held: one byte budget, an atomic counter that never goes over; an event that
//! does not fit is dropped and counted ([`RecorderStats`]). Nothing waits and nothing grows
//! without bound.
//!
//! # Across services
//! Each hop decides for itself: a failure deep in the chain turns into a 5xx or a failed call
//! at every caller above it, so each of them replays its own detail. The hops that already
//! answered well are the hard case (in the demo: inventory reserved stock, then payments
//! failed). Two mechanisms cover it:
//!
//! - **held detail**: at an internal service (one that trusts its callers' baggage), a
//!   completed request whose detail was not replayed is held, keyed by its request id, for [`RecorderConfig::hold_for`] (5 s) and at most
//!   [`RecorderConfig::max_held`] requests, inside the same byte budget (held detail is evicted
//!   first when running requests need room);
//! - **the decision in baggage**: once a request has a reason to keep (a failed call, an
//!   `ERROR` event, a debug request), every later call of it carries `ordertrail.keep=1` (or
//!   `ordertrail.debug=1`) in `baggage`. The callee keeps that request, and replays what it
//!   holds for the same id first.
//!
//! Why not a callback to every callee: it needs a second request per callee per failure, an
//! endpoint to protect, and a client in the library; baggage rides on calls that happen
//! anyway and costs nothing when nothing fails. What it cannot cover: a callee that is not
//! called again after the decision (the failure came last, or the caller gave up), a later
//! call landing on another process (another worker or replica: held detail is per process),
//! and detail older than the hold period.
//!
//! # Debug one request
//! A request with a valid token in [`DEBUG_HEADER`] (the HMAC-SHA256 of its request id under
//! [`RecorderConfig::debug_secret`], see [`DebugKey`]) is kept whatever its outcome, and its
//! calls carry `ordertrail.debug=1`, so every hop writes its detail. Invalid or missing tokens
//! are ignored and counted ([`RecorderSnapshot::debug_refused`]). A server reads the flags from
//! `baggage` only when it trusts its caller's context ([`InboundTrace::Trust`], internal
//! services); the public edge (`Link`/`Ignore`) removes them from the caller's `baggage`
//! (counted as `flags_stripped`) and honours the token alone.
//!
//! [`InboundTrace::Trust`]: crate::propagation::InboundTrace::Trust
//!
//! # Layout
//! - `config`: [`RecorderConfig`].
//! - `layer`: [`Recorder`], the layer and its filter; [`RecorderHandle`].
//! - `state`: a request's state in its span, and the hooks of the middleware and the client.
//! - `kept`: [`KeptEvent`], one event held back.
//! - `buffer`: a request's bounded buffer.
//! - `budget`: [`Budget`], the global byte budget.
//! - `hold`: completed requests' detail, held a short while.
//! - `trigger`: [`Trigger`] and the decision.
//! - `replay`: [`ReplaySink`] and [`Marker`].
//! - `token`: [`DebugKey`], debug tokens.
//! - `baggage`: the two flags in `baggage`.
//! - `stats`: [`RecorderStats`].

// Requests begin and end in the server middleware (`axum`); calls go out through the client
// (`reqwest`): without them, parts of the recorder have no caller.
#[cfg_attr(not(all(feature = "axum", feature = "reqwest")), allow(dead_code))]
mod baggage;
mod budget;
mod buffer;
mod config;
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
mod hold;
mod kept;
mod layer;
mod replay;
#[cfg_attr(not(all(feature = "axum", feature = "reqwest")), allow(dead_code))]
mod state;
mod stats;
mod token;
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
mod trigger;

pub use budget::Budget;
pub use config::RecorderConfig;
pub use kept::KeptEvent;
pub use layer::{Recorder, RecorderHandle};
pub use replay::{Marker, ReplaySink};
pub use stats::{RecorderSnapshot, RecorderStats};
pub use token::{DEBUG_HEADER, DebugKey};
pub use trigger::Trigger;

#[cfg_attr(not(feature = "axum"), allow(unused_imports))]
pub(crate) use state::{begin, finish};
#[cfg_attr(not(feature = "reqwest"), allow(unused_imports))]
pub(crate) use state::{downstream_failed, outgoing};

#[cfg(test)]
pub(crate) use kept::tests as kept_tests;

/// The response header naming the trigger when a request's detail was replayed.
pub const REPLAY_HEADER: &str = "x-ordertrail-replay";

//! How a confirmed order leaves orders for shipping: one [`Event`] on one subject, carried by
//! a [`Transport`] — NATS JetStream, or plain HTTP when no broker is running.
//!
//! # Broker modes
//! - [`Broker::Off`]: the outbox is written, nothing delivers it (a lone `serve orders`).
//! - [`Broker::Http`]: the relay `POST`s each event to shipping's `/shipments`, retrying until a
//!   2xx. Needs nothing installed: what `ordertrail up` does by default.
//! - [`Broker::Nats`]: the relay publishes to the JetStream stream [`STREAM`] on [`SUBJECT`];
//!   shipping instances share one durable pull consumer, so each event goes to one of them and
//!   survives a consumer restart. Events that keep failing go to [`DEAD_LETTER_SUBJECT`].
//!
//! Both carry the same headers: `X-Request-ID`, `traceparent`, `tracestate`, `baggage`
//! ([`ordertrail::propagation::Carrier`]) and the message id (`Nats-Msg-Id`, the order id), so
//! JetStream drops a re-sent duplicate within its window and shipping, keyed by order id,
//! ships each order once whatever arrives twice.
//!
//! # Why `async-nats`
//! It is the NATS project's own Rust client, on tokio, with JetStream (streams, durable pull
//! consumers, acks, naks with delay, message-id deduplication) built in. Only its `jetstream`
//! and `ring` features are used: no websocket, key-value or object store code is compiled.
//!
//! # Layout
//! - `event`: [`Event`], the order-confirmed event, and the subjects and stream names.
//! - `http`: [`HttpTransport`], delivery to shipping over HTTP.
//! - `nats`: [`NatsTransport`], publishing to JetStream, and [`connect`], the streams set up.
//! - `transport`: [`Transport`], one of the two, and [`DeliveryError`].

mod event;
mod http;
mod nats;
mod transport;

pub(crate) use event::now_rfc3339;
pub use event::{
    ATTEMPT, DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT, Event, MESSAGE_ID, STREAM, SUBJECT,
};
pub use http::{HttpTransport, HttpTransportError};
pub use nats::{NatsError, NatsTransport, connect};
pub use transport::{DeliveryError, Outgoing, Transport};

/// Which broker the relay and shipping use (see the [module docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Broker {
    /// No delivery: outbox rows stay pending.
    #[default]
    Off,
    /// Over HTTP, to shipping's base URL.
    Http,
    /// Over NATS JetStream, at this server URL (`nats://127.0.0.1:4222`).
    Nats {
        /// The server URL.
        url: String,
    },
}

impl Broker {
    /// The `messaging.system` of its spans.
    pub fn system(&self) -> &'static str {
        match self {
            Self::Off | Self::Http => "http",
            Self::Nats { .. } => "nats",
        }
    }
}

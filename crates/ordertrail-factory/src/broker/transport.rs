//! [`Transport`]: the relay's way out, over NATS or HTTP, and what one delivery carries.

use bytes::Bytes;
use ordertrail::propagation::Carrier;

use super::{HttpTransport, NatsTransport};

/// One message to deliver.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its subject.
    pub subject: &'static str,
    /// Its id (the order id): the key of deduplication.
    pub message_id: String,
    /// The request id and trace context of the publish span.
    pub carrier: Carrier,
    /// The JSON event.
    pub payload: Bytes,
    /// Which attempt this is, from 1.
    pub attempt: u32,
}

/// Why a delivery did not go through.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// Worth retrying: the broker or shipping is down, slow, or failed (5xx, 408, 429).
    #[error("delivery failed: {0}")]
    Failed(String),
    /// Will never go through as it is: shipping refused the message (another 4xx).
    #[error("delivery refused: {0}")]
    Refused(String),
}

/// NATS JetStream or HTTP.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Publish to JetStream and wait for its ack.
    Nats(NatsTransport),
    /// `POST` to shipping and wait for a 2xx.
    Http(HttpTransport),
}

impl Transport {
    /// Delivers `message`; `Ok` once the broker stored it or shipping processed it.
    pub async fn deliver(&self, message: &Outgoing) -> Result<(), DeliveryError> {
        match self {
            Self::Nats(nats) => nats.publish(message).await,
            Self::Http(http) => http.post(message).await,
        }
    }
}

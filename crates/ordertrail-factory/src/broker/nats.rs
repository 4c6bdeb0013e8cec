//! [`NatsTransport`]: publishing to JetStream; [`connect`]: a client with the two streams set up.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};

use super::{
    DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT, DeliveryError, MESSAGE_ID, Outgoing, STREAM, SUBJECT,
};

/// How long JetStream remembers a message id to drop a re-sent duplicate.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long a publish may wait for JetStream's ack.
const ACK_WITHIN: Duration = Duration::from_secs(5);

/// Connecting to NATS or setting up the streams failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The server could not be reached.
    #[error("cannot connect to NATS at {url}")]
    Connect {
        /// The server URL.
        url: String,
        /// Why.
        #[source]
        source: async_nats::ConnectError,
    },
    /// A stream could not be created or read.
    #[error("cannot set up the JetStream stream {stream}")]
    Stream {
        /// The stream.
        stream: &'static str,
        /// Why.
        #[source]
        source: async_nats::jetstream::context::CreateStreamError,
    },
}

/// A JetStream context with the order stream and the dead-letter stream in place.
pub async fn connect(url: &str) -> Result<jetstream::Context, NatsError> {
    let client = async_nats::ConnectOptions::new()
        .name("ordertrail")
        .connection_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .map_err(|source| NatsError::Connect {
            url: url.to_owned(),
            source,
        })?;
    let js = jetstream::new(client);
    for (name, subject) in [(STREAM, SUBJECT), (DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT)] {
        let config = stream::Config {
            name: name.to_owned(),
            subjects: vec![subject.to_owned()],
            duplicate_window: DUPLICATE_WINDOW,
            max_messages: 1_000_000,
            ..Default::default()
        };
        js.get_or_create_stream(config)
            .await
            .map_err(|source| NatsError::Stream {
                stream: name,
                source,
            })?;
    }
    Ok(js)
}

/// Publishes to JetStream.
#[derive(Debug, Clone)]
pub struct NatsTransport {
    js: jetstream::Context,
}

impl NatsTransport {
    /// Publishes through `js` (see [`connect`]).
    pub fn new(js: jetstream::Context) -> Self {
        Self { js }
    }

    /// Publishes `message` and waits for JetStream to store it.
    pub(crate) async fn publish(&self, message: &Outgoing) -> Result<(), DeliveryError> {
        let failed = |err: &dyn std::fmt::Display| DeliveryError::Failed(err.to_string());
        let ack = self
            .js
            .publish_with_headers(message.subject, headers(message), message.payload.clone())
            .await
            .map_err(|err| failed(&err))?;
        match tokio::time::timeout(ACK_WITHIN, ack).await {
            Ok(Ok(_ack)) => Ok(()),
            Ok(Err(err)) => Err(failed(&err)),
            Err(_) => Err(failed(&"no ack from JetStream in time")),
        }
    }
}

/// The message's headers: the carrier's fields and the message id.
fn headers(message: &Outgoing) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in message.carrier.fields() {
        headers.insert(name, value);
    }
    headers.insert(MESSAGE_ID, message.message_id.as_str());
    headers
}

//! The NATS side of shipping: a durable JetStream pull consumer, shared by every shipping
//! instance (the queue group of JetStream), so each event goes to one of them and an event
//! an instance took but never acknowledged (it crashed, it was stopped) goes to another
//! after [`ConsumerOptions::ack_wait`].
//!
//! # Redelivery and dead letters
//! A failed attempt is negatively acknowledged with a delay that doubles from
//! [`FIRST_RETRY`]; after [`ConsumerOptions::max_attempts`] attempts, or at once for a payload
//! that is not an order event, the message is copied with its headers (plus
//! `Ordertrail-Error` and `Ordertrail-Attempts`) to the dead-letter subject and terminated.
//! Every attempt is logged with the message's request id.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;

use super::ShippingState;
use super::process::{Delivered, ShipError};
use crate::broker::{self, DEAD_LETTER_SUBJECT, MESSAGE_ID, STREAM, SUBJECT};
use crate::web::Chain;
use ordertrail::propagation::{Carrier, FIELDS};

/// The durable consumer every shipping instance shares.
pub const CONSUMER: &str = "shipping";
/// The delay before the second attempt; it doubles for each next one.
pub const FIRST_RETRY: Duration = Duration::from_millis(200);

/// Messages fetched ahead of the one being handled.
const PREFETCH: usize = 16;

/// How the consumer redelivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerOptions {
    /// The NATS server URL.
    pub url: String,
    /// How long a delivered message may stay unacknowledged before it is redelivered.
    pub ack_wait: Duration,
    /// Attempts before a message goes to the dead-letter subject.
    pub max_attempts: u32,
}

impl ConsumerOptions {
    /// Redelivery after 10 s without an ack, 5 attempts.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ack_wait: Duration::from_secs(10),
            max_attempts: 5,
        }
    }
}

/// Consumes until aborted, reconnecting after any failure.
pub(super) async fn run(state: ShippingState, options: ConsumerOptions) {
    let mut delay = FIRST_RETRY;
    loop {
        if let Err(err) = consume(&state, &options).await {
            tracing::warn!(error = %Chain(err.as_ref()), retry_in_ms = delay.as_millis() as u64, "shipping consumer stopped; restarting");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync + 'static>;

async fn consume(state: &ShippingState, options: &ConsumerOptions) -> Result<(), AnyError> {
    let js = broker::connect(&options.url).await?;
    let stream = js.get_stream(STREAM).await?;
    let config = pull::Config {
        durable_name: Some(CONSUMER.to_owned()),
        ack_policy: AckPolicy::Explicit,
        ack_wait: options.ack_wait,
        filter_subject: SUBJECT.to_owned(),
        max_ack_pending: 10_000,
        ..Default::default()
    };
    let consumer: jetstream::consumer::PullConsumer =
        stream.get_or_create_consumer(CONSUMER, config).await?;
    tracing::info!(
        consumer = CONSUMER,
        subject = SUBJECT,
        "shipping consumer started"
    );
    // Messages are handled one at a time; a small batch keeps the prefetched ones from
    // waiting past `ack_wait` behind slow ones (they would come again and count an attempt).
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(PREFETCH)
        .messages()
        .await?;
    while let Some(message) = messages.next().await {
        handle(state, options, &js, message?).await;
    }
    Ok(())
}

/// One message: processed and acked, nacked for a later attempt, or dead-lettered.
async fn handle(
    state: &ShippingState,
    options: &ConsumerOptions,
    js: &jetstream::Context,
    message: jetstream::Message,
) {
    let attempt = message
        .info()
        .map_or(1, |info| u32::try_from(info.delivered).unwrap_or(u32::MAX));
    let headers = message.headers.clone().unwrap_or_default();
    let carrier = Carrier::extract(|name| header(&headers, name));
    let delivered = Delivered {
        payload: &message.payload,
        carrier: &carrier,
        message_id: header(&headers, MESSAGE_ID),
        attempt,
        system: "nats",
    };
    let ack = match state.process(delivered, true).await {
        Ok(_) => AckKind::Ack,
        Err(err) if err.is_retryable() && attempt < options.max_attempts => {
            AckKind::Nak(Some(retry_delay(attempt)))
        }
        Err(err) => {
            dead_letter(js, &message, &carrier, &err, attempt).await;
            AckKind::Term
        }
    };
    if let Err(err) = message.ack_with(ack).await {
        tracing::warn!(error = %err, "acknowledgement not sent; the message will come again");
    }
}

/// The delay before attempt `attempt + 1`.
fn retry_delay(attempt: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(Duration::from_secs(30))
}

/// Copies `message` to the dead-letter subject, logged in its request id.
async fn dead_letter(
    js: &jetstream::Context,
    message: &jetstream::Message,
    carrier: &Carrier,
    err: &ShipError,
    attempt: u32,
) {
    let mut headers = message.headers.clone().unwrap_or_default();
    headers.insert("Ordertrail-Error", err.to_string().as_str());
    headers.insert("Ordertrail-Attempts", attempt.to_string().as_str());
    let published = js
        .publish_with_headers(DEAD_LETTER_SUBJECT, headers, message.payload.clone())
        .await;
    let stored = match published {
        Ok(ack) => ack.await.map(drop).map_err(AnyError::from),
        Err(err) => Err(err.into()),
    };
    let log = || match &stored {
        Ok(()) => {
            tracing::error!(attempt, error = %err, subject = DEAD_LETTER_SUBJECT, "event dead-lettered")
        }
        Err(failed) => {
            tracing::error!(attempt, error = %err, dead_letter_error = %failed, "event given up; dead-letter publish failed")
        }
    };
    match carrier.request_id().cloned() {
        Some(id) => ordertrail::correlation::scope(id, async { log() }).await,
        None => log(),
    }
}

/// The value of header `name`; the carrier's names are looked up as [`FIELDS`] spells them.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    debug_assert!(FIELDS.contains(&name) || name == MESSAGE_ID);
    headers.get(name).map(|value| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time() {
        let delays: Vec<u128> = (1..=4).map(|a| retry_delay(a).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1_600]);
    }
}

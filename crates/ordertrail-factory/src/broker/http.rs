//! [`HttpTransport`]: the outbox delivered to shipping's `POST /shipments` with the headers a
//! NATS message would carry.

use std::time::Duration;

use reqwest::StatusCode;

use super::{ATTEMPT, DeliveryError, MESSAGE_ID, Outgoing};

/// How long one delivery may take, shipping's processing included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers to shipping at a base URL.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    url: String,
}

impl HttpTransport {
    /// Delivers to `{shipping}/shipments`.
    pub fn new(shipping: &str) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/shipments", shipping.trim_end_matches('/'));
        Ok(Self { client, url })
    }

    /// One `POST`: 2xx is delivered, 408, 429 and 5xx are worth retrying, any other status is
    /// a refusal.
    pub(crate) async fn post(&self, message: &Outgoing) -> Result<(), DeliveryError> {
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header(MESSAGE_ID, &message.message_id)
            .header(ATTEMPT, message.attempt)
            .body(message.payload.clone());
        for (name, value) in message.carrier.fields() {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|err| DeliveryError::Failed(error_chain(&err)))?;
        let status = response.status();
        match status {
            s if s.is_success() => Ok(()),
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                Err(DeliveryError::Failed(status.to_string()))
            }
            s if s.is_server_error() => Err(DeliveryError::Failed(s.to_string())),
            s => Err(DeliveryError::Refused(s.to_string())),
        }
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

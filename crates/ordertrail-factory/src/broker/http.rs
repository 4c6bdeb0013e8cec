//! [`HttpTransport`]: the outbox delivered to shipping's `POST /shipments` with the headers a
//! NATS message would carry.

use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::{ATTEMPT, DeliveryError, MESSAGE_ID, Outgoing};

/// How long one delivery may take, shipping's processing included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers to shipping at a base URL.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    /// Parsed once, not for every delivery.
    url: Url,
}

/// The HTTP transport could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpTransportError {
    /// The HTTP client could not be built.
    #[error("no HTTP client")]
    Client(#[source] reqwest::Error),
    /// Shipping's URL is not an absolute http(s) URL.
    #[error("{0:?} is not an http(s) URL")]
    Url(String),
}

impl HttpTransport {
    /// Delivers to `{shipping}/shipments`.
    ///
    /// # Errors
    /// The client cannot be built, or `shipping` is not an http(s) URL.
    pub fn new(shipping: &str) -> Result<Self, HttpTransportError> {
        let text = format!("{}/shipments", shipping.trim_end_matches('/'));
        let url = crate::http_url::parse(&text)
            .ok_or_else(|| HttpTransportError::Url(shipping.to_owned()))?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(HttpTransportError::Client)?;
        Ok(Self { client, url })
    }

    /// One `POST`: 2xx is delivered, 408, 429 and 5xx are worth retrying, any other status is
    /// a refusal.
    pub(crate) async fn post(&self, message: &Outgoing) -> Result<(), DeliveryError> {
        let mut request = self
            .client
            .post(self.url.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_go_to_the_shipments_path_of_the_base() {
        for base in ["http://127.0.0.1:8084", "http://127.0.0.1:8084/"] {
            let http = HttpTransport::new(base).expect("a transport");
            assert_eq!(http.url.as_str(), "http://127.0.0.1:8084/shipments");
        }
    }

    #[test]
    fn a_base_that_is_not_an_http_url_is_refused() {
        for base in ["", "127.0.0.1:8084", "nats://127.0.0.1:4222"] {
            let err = HttpTransport::new(base).unwrap_err();
            assert!(
                matches!(&err, HttpTransportError::Url(b) if b == base),
                "{err}"
            );
        }
    }
}

//! [`ClientConfig`]: builds the instrumented client.

use std::time::Duration;

use http::HeaderName;
use reqwest_middleware::ClientWithMiddleware;

use super::Propagate;
use crate::correlation::DEFAULT_HEADER;

/// Building the HTTP client failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client")]
    Build(#[from] reqwest::Error),
}

/// Settings of the outgoing client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Longest wait for a TCP connection (default 2 s).
    pub connect_timeout: Duration,
    /// Longest wait for a whole call, body included (default 10 s).
    pub request_timeout: Duration,
    /// The header the request id travels in.
    pub header: HeaderName,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            header: HeaderName::from_static(DEFAULT_HEADER),
        }
    }
}

impl ClientConfig {
    /// A client with these timeouts and the [`Propagate`] middleware.
    pub fn build(&self) -> Result<ClientWithMiddleware, ClientError> {
        let client = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(reqwest_middleware::ClientBuilder::new(client)
            .with(Propagate::new(self.header.clone()))
            .build())
    }
}

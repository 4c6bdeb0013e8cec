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
///
/// ```
/// use std::time::Duration;
/// use ordertrail::outgoing::ClientConfig;
///
/// let client = ClientConfig::default()
///     .request_timeout(Duration::from_secs(3))
///     .build()
///     .expect("client");
/// # let _ = client;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    /// Sets the longest wait for a TCP connection.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the longest wait for a whole call, body included.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the header the request id travels in.
    #[must_use]
    pub fn header(mut self, name: HeaderName) -> Self {
        self.header = name;
        self
    }

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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::net::TcpListener;

    use super::*;
    use crate::propagation::tests::traced;

    /// A loopback server that accepts connections and never answers; its URL.
    async fn silent_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        format!("http://{addr}/slow")
    }

    #[tokio::test]
    async fn a_call_past_the_request_timeout_fails_as_a_timeout_in_its_span() {
        let (_guard, ended) = traced();
        let url = silent_server().await;
        let client = ClientConfig::default()
            .request_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let start = Instant::now();
        let err = client.get(&url).send().await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the configured timeout, not the 10 s default"
        );
        let span = ended.named("GET");
        let error_type = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "error.type")
            .map(|kv| kv.value.to_string());
        assert_eq!(error_type.as_deref(), Some("timeout"));
    }
}

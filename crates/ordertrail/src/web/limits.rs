//! [`ServeConfig`]: the timeouts and the connection cap every listener runs with.

use std::time::Duration;

/// How long a connection may take to send each request head, how long it may sit idle, how
/// long a request (body included) may run, and how many connections are open at once.
///
/// Without these, a client that opens connections and never finishes a request head holds
/// them (and their buffers) forever, and a few thousand such clients lock everyone else out.
/// [`serve`](super::serve) uses [`ServeConfig::default`]; [`serve_with`](super::serve_with)
/// takes one.
///
/// | limit | default | past it |
/// |---|---|---|
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s | HTTP/1 connection closed |
/// | [`idle_timeout`](Self::idle_timeout) | 60 s | connection closed after its last request |
/// | [`request_timeout`](Self::request_timeout) | 30 s | `408 Request Timeout` |
/// | [`body_read_timeout`](Self::body_read_timeout) | 10 s between body frames | the body read fails (`400`/`408`) |
/// | [`max_connections`](Self::max_connections) | 1024 | new connections wait in the kernel's accept queue |
///
/// The HTTP/1 head-read timer also runs while a keep-alive connection waits for its next
/// request, so an idle HTTP/1 connection is closed after `header_read_timeout` too. HTTP/2
/// connections are pinged every `idle_timeout / 2` and closed when a ping goes unanswered.
///
/// ```
/// use std::time::Duration;
/// use ordertrail::web::ServeConfig;
///
/// let config = ServeConfig::default()
///     .header_read_timeout(Duration::from_secs(5))
///     .max_connections(256);
/// assert_eq!(config.max_connections, 256);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeConfig {
    /// Longest wait for a complete HTTP/1 request head, from the moment the connection waits
    /// for one.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed gracefully.
    pub idle_timeout: Duration,
    /// Longest time from request head to response head; the answer past it is `408`.
    pub request_timeout: Duration,
    /// Longest wait for the next frame of a request body.
    pub body_read_timeout: Duration,
    /// Open connections at most; the accept loop waits for one to close before taking more.
    pub max_connections: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

impl ServeConfig {
    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`body_read_timeout`](Self::body_read_timeout).
    #[must_use]
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections); at least 1.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
}

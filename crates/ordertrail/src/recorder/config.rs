//! [`RecorderConfig`]: what the flight recorder keeps, for how long, and what makes it write.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tracing::Level;

/// Settings of the flight recorder. Start from [`RecorderConfig::default`] and change what
/// differs; [`TelemetryConfig::recorder`](crate::telemetry::TelemetryConfig::recorder) installs it.
///
/// ```
/// use std::time::Duration;
/// use ordertrail::recorder::RecorderConfig;
///
/// let config = RecorderConfig::default()
///     .slow_after(Some(Duration::from_millis(500)))
///     .keep_statuses([429])
///     .per_request(512, 128 * 1024)
///     .budget_bytes(32 << 20)
///     .debug_secret(b"a long random secret".to_vec());
/// assert!(config.enabled);
/// assert_eq!(config.statuses, [429]);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RecorderConfig {
    /// Keep and replay detail at all (default on: see the crate README for its measured cost).
    pub enabled: bool,
    /// The most detailed level kept (default `DEBUG`; `TRACE` keeps everything).
    pub level: Level,
    /// Events kept per request; past it, the oldest are dropped (default 256).
    pub max_events: usize,
    /// Bytes kept per request; past it, the oldest are dropped (default 64 KiB).
    pub max_bytes: usize,
    /// Bytes kept across all requests, in flight and held (default 16 MiB). Past it, new
    /// events are dropped and counted; the request never waits.
    pub budget_bytes: usize,
    /// A request slower than this replays (default 1 s; `None`: latency never replays).
    pub slow: Option<Duration>,
    /// Statuses that replay besides every 5xx (default none; `[404, 429]`, say).
    pub statuses: Vec<u16>,
    /// How long the detail of a completed, unremarkable request is held, in case a later
    /// hop of the same request id asks for it (default 5 s; zero: discarded at once).
    pub hold_for: Duration,
    /// Completed requests held at most (default 1,024; the oldest go first).
    pub max_held: usize,
    /// The key of debug tokens (HMAC-SHA256 of the request id); `None`: tokens are refused.
    pub debug_secret: Option<Arc<[u8]>>,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            level: Level::DEBUG,
            max_events: 256,
            max_bytes: 64 * 1024,
            budget_bytes: 16 << 20,
            slow: Some(Duration::from_secs(1)),
            statuses: Vec::new(),
            hold_for: Duration::from_secs(5),
            max_held: 1024,
            debug_secret: None,
        }
    }
}

impl RecorderConfig {
    /// Turns the recorder on or off.
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Keeps events up to `level` (`DEBUG` or `TRACE`).
    #[must_use]
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Bounds each request's buffer by events and bytes.
    #[must_use]
    pub fn per_request(mut self, max_events: usize, max_bytes: usize) -> Self {
        self.max_events = max_events;
        self.max_bytes = max_bytes;
        self
    }

    /// Bounds the bytes kept across all requests.
    #[must_use]
    pub fn budget_bytes(mut self, bytes: usize) -> Self {
        self.budget_bytes = bytes;
        self
    }

    /// Replays requests slower than `threshold`; `None` never for latency alone.
    #[must_use]
    pub fn slow_after(mut self, threshold: Option<Duration>) -> Self {
        self.slow = threshold;
        self
    }

    /// Replays these statuses too (every 5xx always replays).
    #[must_use]
    pub fn keep_statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Holds completed requests' detail for `period`, at most `max` requests.
    #[must_use]
    pub fn hold(mut self, period: Duration, max: usize) -> Self {
        self.hold_for = period;
        self.max_held = max;
        self
    }

    /// Accepts debug tokens made with `secret` (see [`DebugKey`](super::DebugKey)).
    #[must_use]
    pub fn debug_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.debug_secret = Some(secret.into().into());
        self
    }
}

impl fmt::Debug for RecorderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecorderConfig")
            .field("enabled", &self.enabled)
            .field("level", &self.level)
            .field("max_events", &self.max_events)
            .field("max_bytes", &self.max_bytes)
            .field("budget_bytes", &self.budget_bytes)
            .field("slow", &self.slow)
            .field("statuses", &self.statuses)
            .field("hold_for", &self.hold_for)
            .field("max_held", &self.max_held)
            .field("debug_secret", &self.debug_secret.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let config = RecorderConfig::default().debug_secret(b"hunter2-hunter2".to_vec());
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<set>"), "{text}");
    }
}

//! [`CollectorConfig`]: where received telemetry goes, and the limits a request is held to.

use std::path::PathBuf;

use ordertrail::web::ServeConfig;

use super::limits::Limits;

/// Where the collector puts what it receives, and what it accepts.
///
/// The default keeps nothing: requests are counted and dropped. The CLI sets an output
/// directory; tests keep requests in memory. [`Limits`] bound each request (defaults listed
/// there); [`ServeConfig`] bounds connections (`ServeConfig::default()`: 10 s to send a request
/// head, 60 s idle, 30 s per request, 1024 connections).
///
/// ```
/// use std::time::Duration;
/// use ordertrail::web::ServeConfig;
/// use ordertrail_collector::CollectorConfig;
///
/// let for_tests = CollectorConfig::in_memory();
/// let for_the_cli = CollectorConfig::default()
///     .out_dir("logs/")
///     .max_items_per_request(2048)
///     .serve(ServeConfig::default().header_read_timeout(Duration::from_secs(5)));
/// assert!(for_tests.keep_in_memory && !for_the_cli.keep_in_memory);
/// assert_eq!(for_the_cli.limits.max_items_per_request, 2048);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectorConfig {
    /// Directory for `traces.jsonl` and `otlp-logs.jsonl`, created if missing. `None` writes
    /// no files.
    pub out_dir: Option<PathBuf>,
    /// Keep every request in memory for [`Received`](super::Received) to return. Memory grows
    /// with every request, so leave it off in long runs.
    pub keep_in_memory: bool,
    /// What one export request may hold, and how many run at once.
    pub limits: Limits,
    /// Timeouts and the connection cap of the listener.
    pub serve: ServeConfig,
}

/// A builder method setting one field of [`Limits`].
macro_rules! limit_setter {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: usize) -> Self {
            self.limits.$name = value;
            self
        }
    };
}

impl CollectorConfig {
    /// Keeps requests in memory, writes no files: the configuration for tests.
    pub fn in_memory() -> Self {
        Self::default().keep_in_memory(true)
    }

    /// Appends OTLP/JSON lines to files in `dir`.
    #[must_use]
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Sets whether requests are kept in memory.
    #[must_use]
    pub fn keep_in_memory(mut self, keep: bool) -> Self {
        self.keep_in_memory = keep;
        self
    }

    /// Replaces every request limit at once.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the listener's timeouts and connection cap.
    #[must_use]
    pub fn serve(mut self, serve: ServeConfig) -> Self {
        self.serve = serve;
        self
    }

    limit_setter!(
        /// Sets [`Limits::max_body_bytes`] (default 16 MiB).
        max_body_bytes
    );
    limit_setter!(
        /// Sets [`Limits::max_items_per_request`] (default 4096).
        max_items_per_request
    );
    limit_setter!(
        /// Sets [`Limits::max_attributes_per_item`] (default 128).
        max_attributes_per_item
    );
    limit_setter!(
        /// Sets [`Limits::max_attributes_per_request`] (default 131 072).
        max_attributes_per_request
    );
    limit_setter!(
        /// Sets [`Limits::max_events_per_span`] (default 128).
        max_events_per_span
    );
    limit_setter!(
        /// Sets [`Limits::max_links_per_span`] (default 128).
        max_links_per_span
    );
    limit_setter!(
        /// Sets [`Limits::max_buckets_per_request`] (default 1,048,576).
        max_buckets_per_request
    );
    limit_setter!(
        /// Sets [`Limits::max_depth`] (default 32).
        max_depth
    );
    limit_setter!(
        /// Sets [`Limits::max_concurrent_requests`] (default 8).
        max_concurrent_requests
    );
    limit_setter!(
        /// Sets [`Limits::max_line_bytes`] (default 64 MiB).
        max_line_bytes
    );
}

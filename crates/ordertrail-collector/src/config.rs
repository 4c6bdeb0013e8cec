//! [`CollectorConfig`]: where received telemetry goes.

use std::path::PathBuf;

/// Where the collector puts what it receives.
///
/// The default keeps nothing: requests are counted and dropped. The CLI sets an output
/// directory; tests keep requests in memory.
///
/// ```
/// use ordertrail_collector::CollectorConfig;
///
/// let for_tests = CollectorConfig::in_memory();
/// let for_the_cli = CollectorConfig::default().out_dir("logs/");
/// assert!(for_tests.keep_in_memory && !for_the_cli.keep_in_memory);
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
}

//! What [`init`](super::init) needs to know: built by the binary from flags and environment.

use std::path::PathBuf;

/// How log lines look on stdout. Files always get JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (the default; what log shippers and `jq` read).
    #[default]
    Json,
    /// Human-readable, coloured on a terminal, for local work.
    Pretty,
}

/// Telemetry settings of one process.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// The service name written on every line (`service`).
    pub service: String,
    /// How stdout lines look.
    pub log_format: LogFormat,
    /// A file to append JSON lines to, besides stdout.
    pub log_file: Option<PathBuf>,
    /// `RUST_LOG`-style directives; `info` when empty.
    pub log_filter: String,
}

impl TelemetryConfig {
    /// JSON lines on stdout, level `info`, no file.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            log_format: LogFormat::Json,
            log_file: None,
            log_filter: String::new(),
        }
    }

    /// Sets the stdout format.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Also appends JSON lines to `path`.
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// Sets the filter directives (the syntax of `RUST_LOG`).
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.log_filter = directives.into();
        self
    }
}

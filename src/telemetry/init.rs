//! [`init`]: installs the global subscriber; [`TelemetryGuard`]: flushes it at exit.

use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use super::{LogFormat, TelemetryConfig};
use crate::logging::{HumanLayer, JsonLayer, LogOutputs, OutputError, install_panic_hook};

/// Setting telemetry up failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The filter directives do not parse.
    #[error("invalid log filter {directives:?}")]
    Filter {
        /// The directives given.
        directives: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A log output could not be opened.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A global subscriber is already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
}

/// Owns the log writers. Hold it for the life of the process; call
/// [`shutdown`](Self::shutdown) (or drop it) last, so queued lines reach their outputs.
#[must_use = "dropping the guard stops telemetry"]
pub struct TelemetryGuard {
    outputs: Option<LogOutputs>,
}

impl TelemetryGuard {
    /// Flushes and stops, in order: queued log lines to stdout and file.
    pub fn shutdown(mut self) {
        if let Some(outputs) = self.outputs.take() {
            outputs.flush();
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber described by `config` and the panic hook.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let outputs = LogOutputs::open(config.log_file.as_deref())?;
    let mut layers: Vec<BoxedLayer> = Vec::new();
    match (config.log_format, outputs.file.clone()) {
        (LogFormat::Json, None) => layers.push(json(config, outputs.stdout.clone())?),
        (LogFormat::Json, Some(file)) => {
            layers.push(json(config, outputs.stdout.clone().and(file))?)
        }
        (LogFormat::Pretty, file) => {
            layers.push(pretty(config, outputs.stdout.clone())?);
            if let Some(file) = file {
                layers.push(json(config, file)?);
            }
        }
    }
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)?;
    install_panic_hook();
    Ok(TelemetryGuard {
        outputs: Some(outputs),
    })
}

fn json<W>(config: &TelemetryConfig, writer: W) -> Result<BoxedLayer, TelemetryError>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = JsonLayer::new(config.service.as_str(), writer);
    Ok(layer.with_filter(filter(config)?).boxed())
}

fn pretty<W>(config: &TelemetryConfig, writer: W) -> Result<BoxedLayer, TelemetryError>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    Ok(HumanLayer::new(writer).with_filter(filter(config)?).boxed())
}

/// The log filter: the configured directives, `info` when none.
fn filter(config: &TelemetryConfig) -> Result<EnvFilter, TelemetryError> {
    let directives = if config.log_filter.trim().is_empty() {
        "info"
    } else {
        config.log_filter.as_str()
    };
    EnvFilter::builder()
        .parse(directives)
        .map_err(|source| TelemetryError::Filter {
            directives: directives.to_owned(),
            source,
        })
}

//! The flight recorder's layer as [`layers`](super::layers) installs it: replaying into the
//! same outputs as the log layers, filtered to the events those leave out.

use std::sync::Arc;

use opentelemetry::logs::LoggerProvider as _;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use super::init::directives;
use super::resource::scope;
use super::{LogFormat, TelemetryConfig};
use crate::logging::{HumanLayer, JsonLayer, LogOutputs, OtlpLogLayer};
use crate::recorder::{Recorder, RecorderHandle, ReplaySink};

/// The recorder layer of `config` and its handle; `None` when the recorder is off.
pub(super) fn recorder_layer<S>(
    config: &TelemetryConfig,
    outputs: &LogOutputs,
    logger: Option<&SdkLoggerProvider>,
) -> Option<(Box<dyn Layer<S> + Send + Sync + 'static>, RecorderHandle)>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    if !config.recorder.enabled {
        return None;
    }
    let mut sinks = line_sinks(config, outputs);
    if let Some(provider) = logger {
        let bridge =
            OtlpLogLayer::new(provider.logger_with_scope(scope()), config.service.as_str());
        sinks.push(Arc::new(bridge.replay_sink()));
    }
    let recorder = Recorder::new(config.recorder.clone(), sinks);
    let handle = recorder.handle();
    let filter = recorder.filter(directives(config));
    Some((recorder.with_filter(filter).boxed(), handle))
}

/// One sink per line output, as the log layers write them: stdout in the configured format,
/// the file (if any) in JSON.
fn line_sinks(config: &TelemetryConfig, outputs: &LogOutputs) -> Vec<Arc<dyn ReplaySink>> {
    let json = |writer| {
        let layer =
            JsonLayer::new(config.service.as_str(), writer).line_fields(&config.line_fields);
        Arc::new(layer.replay_sink()) as Arc<dyn ReplaySink>
    };
    let mut sinks = vec![match config.log_format {
        LogFormat::Pretty => {
            Arc::new(HumanLayer::new(outputs.stdout.clone()).replay_sink()) as Arc<dyn ReplaySink>
        }
        _ => json(outputs.stdout.clone()),
    }];
    if let Some(file) = &outputs.file {
        sinks.push(json(file.clone()));
    }
    sinks
}

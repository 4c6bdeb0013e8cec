//! The flight recorder's layer as [`layers`](super::layers) installs it: replaying into the
//! same outputs as the log layers, filtered to the events those leave out.

use std::sync::Arc;

use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use super::init::directives;
use super::logs::RecordExport;
use super::{LogFormat, TelemetryConfig};
use crate::logging::{HumanLayer, JsonLayer, LogOutputs};
use crate::recorder::{Recorder, RecorderHandle, ReplaySink};

/// The recorder layer of `config` and its handle; `None` when the recorder is off.
pub(super) fn recorder_layer<S>(
    config: &TelemetryConfig,
    outputs: &LogOutputs,
    records: Option<&RecordExport>,
) -> Option<(Box<dyn Layer<S> + Send + Sync + 'static>, RecorderHandle)>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    if !config.recorder.enabled {
        return None;
    }
    let mut sinks = line_sinks(config, outputs);
    sinks.extend(records.map(|export| otlp_sink(config, export)));
    let recorder = Recorder::new(config.recorder.clone(), sinks);
    let handle = recorder.handle();
    let filter = recorder.filter(directives(config));
    Some((recorder.with_filter(filter).boxed(), handle))
}

/// The OTLP log records' sink: replayed events go out as records like live ones.
#[cfg(feature = "otlp")]
fn otlp_sink(config: &TelemetryConfig, export: &RecordExport) -> Arc<dyn ReplaySink> {
    let bridge = crate::logging::OtlpLogLayer::new(export.clone(), config.service.as_str());
    Arc::new(bridge.replay_sink())
}

/// Without the `otlp` feature there is no record export to replay into.
#[cfg(not(feature = "otlp"))]
fn otlp_sink(_config: &TelemetryConfig, export: &RecordExport) -> Arc<dyn ReplaySink> {
    match *export {}
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

//! [`PipelineHealth`]: the telemetry pipeline's own counts, read at each scrape.
//!
//! - `ordertrail_export_items_total{signal, outcome}`: spans and log records `exported`,
//!   `failed` (their export failed) or `dropped` (the queue was full) — the counts
//!   [`ExportCounters`] keeps;
//! - `ordertrail_log_lines_dropped_total`: log lines the non-blocking writers dropped.
//!
//! The sources are attached once telemetry starts; until then nothing is written.

use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;

use crate::telemetry::ExportCounters;

/// The sources of the pipeline's counts.
#[derive(Debug, Default)]
pub(crate) struct PipelineHealth {
    spans: OnceLock<Arc<ExportCounters>>,
    logs: OnceLock<Arc<ExportCounters>>,
    lines: OnceLock<Vec<crate::logging::LineWriter>>,
}

impl PipelineHealth {
    /// Reads export counts from `spans` and `logs` from now on (the first call wins).
    pub(crate) fn attach_export(&self, spans: Arc<ExportCounters>, logs: Arc<ExportCounters>) {
        let _ = self.spans.set(spans);
        let _ = self.logs.set(logs);
    }

    /// Reads dropped log lines from `counters` from now on (the first call wins).
    pub(crate) fn attach_lines(&self, counters: Vec<crate::logging::LineWriter>) {
        let _ = self.lines.set(counters);
    }

    fn encode_exports(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let sources = [("spans", &self.spans), ("log_records", &self.logs)];
        if sources.iter().all(|(_, s)| s.get().is_none()) {
            return Ok(());
        }
        let counter = ConstCounter::new(0u64);
        let mut metric = encoder.encode_descriptor(
            "ordertrail_export_items",
            "Spans and log records by export outcome: exported, failed, dropped (queue full)",
            None,
            counter.metric_type(),
        )?;
        for (signal, source) in sources {
            let Some(counts) = source.get().map(|c| c.snapshot()) else {
                continue;
            };
            let outcomes = [
                ("exported", counts.exported),
                ("failed", counts.failed),
                ("dropped", counts.dropped),
            ];
            for (outcome, value) in outcomes {
                let labels = [("signal", signal), ("outcome", outcome)];
                ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }

    fn encode_lines(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(counters) = self.lines.get() else {
            return Ok(());
        };
        let dropped: usize = counters
            .iter()
            .map(crate::logging::LineWriter::dropped_lines)
            .sum();
        let counter = ConstCounter::new(dropped as u64);
        let metric = encoder.encode_descriptor(
            "ordertrail_log_lines_dropped",
            "Log lines dropped by the non-blocking writers",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

impl Collector for PipelineHealth {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.encode_exports(&mut encoder)?;
        self.encode_lines(&mut encoder)
    }
}

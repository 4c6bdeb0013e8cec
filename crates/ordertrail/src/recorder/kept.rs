//! [`KeptEvent`]: one event held back, in the form every output writes from.

use std::time::SystemTime;

use tracing::{Level, Metadata};

use crate::logging::{FieldValue, FlatRecord};

/// Bytes a kept event costs besides its strings: the record, its field list, the queue slot.
const OVERHEAD: usize = 192;

/// An event below the output level, kept while its request runs: the flattened record the
/// log layers would have written, its level and target, and when it happened. A replay
/// writes it with this timestamp, so it sorts where it happened.
#[derive(Debug)]
pub struct KeptEvent {
    time: SystemTime,
    level: Level,
    target: &'static str,
    record: FlatRecord,
    bytes: usize,
}

impl KeptEvent {
    /// Keeps `record`, the flattened event of `meta`, stamped now.
    pub(crate) fn new(meta: &'static Metadata<'static>, record: FlatRecord) -> Self {
        let bytes = estimate(&record);
        Self {
            time: SystemTime::now(),
            level: *meta.level(),
            target: meta.target(),
            record,
            bytes,
        }
    }

    /// When the event happened.
    pub fn time(&self) -> SystemTime {
        self.time
    }

    /// Its level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Its target.
    pub fn target(&self) -> &'static str {
        self.target
    }

    /// The flattened event: request id, service, trace context, fields.
    pub fn record(&self) -> &FlatRecord {
        &self.record
    }

    /// What it costs the budget, in bytes (an estimate that errs high: span fields shared with
    /// the span are counted as if copied).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

fn estimate(record: &FlatRecord) -> usize {
    let text = |v: &FieldValue| v.as_str().map_or(8, str::len);
    let message = record.message.as_ref().map_or(0, text);
    let fields: usize = record
        .fields
        .iter()
        .map(|(name, value)| name.len() + text(value) + 24)
        .sum();
    OVERHEAD + message + fields + record.request_id.as_ref().map_or(0, |id| id.as_str().len())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn longer_text_costs_more() {
        let short = FlatRecord {
            message: Some(FieldValue::Str(Arc::from("a"))),
            ..FlatRecord::default()
        };
        let long = FlatRecord {
            message: Some(FieldValue::Str(Arc::from("a".repeat(1000)))),
            fields: vec![("sku", FieldValue::Str(Arc::from("poster")))],
            ..FlatRecord::default()
        };
        assert!(estimate(&long) >= estimate(&short) + 999 + "sku".len() + "poster".len());
        assert!(estimate(&short) >= OVERHEAD);
    }
}

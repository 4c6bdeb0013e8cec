//! [`RecordExport`]: log records encoded on the thread that logged them, into a [`Batch`]
//! grouped by target, exported by a thread of its own.
//!
//! Each event is written once, as protobuf, straight from the flattened record the log lines
//! are made of ([`super::logs::log_record`]): no SDK log record is built, queued, copied and
//! dropped.

use opentelemetry_sdk::Resource;

use super::batch::{Batch, Kind};
use super::logs::{RecordView, export_request, log_record};
use super::protobuf::Encoded;

/// Exports log records in batches; cheap to clone (every clone feeds the same batch).
pub(crate) type RecordExport = Batch<LogRecords>;

/// Log records, grouped by their target (which names their scope), the scopes' version being
/// the library's.
#[derive(Debug)]
pub(crate) struct LogRecords {
    pub(crate) version: String,
}

impl Kind for LogRecords {
    type Scope = &'static str;
    const THREAD: &'static str = "ordertrail-logs";

    fn request(&self, resource: &Resource, scopes: &[(&'static str, Vec<u8>)]) -> Encoded {
        export_request(resource, &self.version, scopes)
    }
}

impl Batch<LogRecords> {
    /// Encodes `view` into the batch of its `target`, or counts it dropped when the queue is
    /// full.
    pub(crate) fn push_record(&self, target: &'static str, view: &RecordView<'_>) {
        self.push(|t| *t == target, || target, |w| log_record(w, view));
    }
}

//! [`RecordExport`]: log records encoded on the thread that logged them, into a bounded
//! batch, exported by a thread of its own.
//!
//! It keeps what the SDK's batch log processor promises: a bounded queue (a record past
//! [`BatchSettings::queue_size`] is dropped and counted), a batch sent when it is full or when
//! the delay has passed, and a shutdown that sends what is left before it returns. What it
//! saves is the SDK's log record: each event is written once, as protobuf, straight from the
//! flattened record the log lines are made of ([`super::logs::log_record`]), and a batch is
//! the concatenation of those bytes under each scope's header.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;

use super::logs::{RecordView, export_request, log_record};
use super::protobuf::Writer;
use super::transport::Sender;
use crate::telemetry::BatchSettings;
use crate::telemetry::counting::{ExportCounters, gated};
use crate::telemetry::gate::ExportGate;

/// Records in one export request, at most; a full batch is sent without waiting for the delay.
const MAX_BATCH: usize = 512;

/// The most bytes a new scope's batch reserves up front.
const MAX_RESERVE: usize = 1 << 20;

/// Exports log records in batches; cheap to clone (every clone feeds the same batch).
#[derive(Debug, Clone)]
pub(crate) struct RecordExport {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the export thread: a full batch, a flush, the stop.
    wake: Condvar,
    counters: Arc<ExportCounters>,
    capacity: usize,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The records waiting, per scope, and what the export thread is asked to do.
#[derive(Debug, Default)]
struct Pending {
    /// Per target: its `LogRecord` fields, encoded.
    scopes: Vec<(&'static str, Vec<u8>)>,
    records: usize,
    stop: bool,
    /// Per target, the bytes of its batch in the last export: its next batch reserves as
    /// much, so it grows in place instead of being copied at each doubling. A target absent
    /// from the last export reserves nothing.
    last_sizes: Vec<(&'static str, usize)>,
}

/// What the export thread needs besides the queue.
struct Exporter {
    sender: Sender,
    resource: Resource,
    version: String,
    delay: Duration,
    gate: ExportGate,
}

impl RecordExport {
    /// Starts the export thread, sending through `sender` on behalf of `resource`, the scope
    /// version being `version`; counts into `counters`.
    pub(crate) fn start(
        sender: Sender,
        resource: Resource,
        version: &str,
        settings: &BatchSettings,
        counters: Arc<ExportCounters>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            wake: Condvar::new(),
            counters,
            capacity: settings.queue_size,
            thread: Mutex::default(),
        });
        let exporter = Exporter {
            sender,
            resource,
            version: version.to_owned(),
            delay: settings.delay,
            gate: ExportGate::default(),
        };
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ordertrail-logs".into())
            .spawn(move || exporter.run(&worker))?;
        *lock(&shared.thread) = Some(thread);
        Ok(Self { shared })
    }

    /// Encodes `view` into the batch of its `target`, or counts it dropped when the queue is
    /// full.
    pub(crate) fn push(&self, target: &'static str, view: &RecordView<'_>) {
        let shared = &self.shared;
        let mut pending = lock(&shared.pending);
        if pending.stop || !shared.counters.admit(shared.capacity) {
            return;
        }
        let at = match pending.scopes.iter().position(|(t, _)| *t == target) {
            Some(at) => at,
            None => {
                let batch = Vec::with_capacity(last_size(&pending.last_sizes, target));
                pending.scopes.push((target, batch));
                pending.scopes.len() - 1
            }
        };
        let mut w = Writer::appending(std::mem::take(&mut pending.scopes[at].1));
        log_record(&mut w, view);
        pending.scopes[at].1 = w.into_bytes();
        pending.records += 1;
        if pending.records >= MAX_BATCH {
            shared.wake.notify_one();
        }
    }

    /// Sends what is waiting and stops the export thread, waiting at most `timeout`.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), OTelSdkError> {
        lock(&self.shared.pending).stop = true;
        self.shared.wake.notify_one();
        let Some(thread) = lock(&self.shared.thread).take() else {
            return Ok(()); // already shut down
        };
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                return Err(OTelSdkError::Timeout(timeout));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        thread
            .join()
            .map_err(|_| OTelSdkError::InternalFailure("the log export thread panicked".into()))
    }
}

impl Exporter {
    /// Waits for a full batch, the delay or the stop; sends; until stopped and empty.
    fn run(self, shared: &Shared) {
        loop {
            let (scopes, records, stop) = self.next_batch(shared);
            if records > 0 {
                self.send(shared, &scopes, records);
            }
            if stop {
                return;
            }
        }
    }

    /// The batch to send: everything waiting once it is full, the delay has passed, or the
    /// export is stopping.
    fn next_batch(&self, shared: &Shared) -> (Vec<(&'static str, Vec<u8>)>, usize, bool) {
        let deadline = Instant::now() + self.delay;
        let mut pending = lock(&shared.pending);
        while pending.records < MAX_BATCH && !pending.stop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = shared
                .wake
                .wait_timeout(pending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let records = std::mem::take(&mut pending.records);
        let sizes = pending.scopes.iter().map(|(t, batch)| (*t, batch.len()));
        pending.last_sizes = sizes.collect();
        (std::mem::take(&mut pending.scopes), records, pending.stop)
    }

    fn send(&self, shared: &Shared, scopes: &[(&'static str, Vec<u8>)], records: usize) {
        let request = export_request(&self.resource, &self.version, scopes);
        let sent = self.sender.export(request);
        let outcome = gated(&self.gate, &shared.counters, records, sent);
        // This thread is no runtime's: block on the export runtime's answer.
        let _ = self.sender.block_on(outcome);
    }
}

/// The bytes `target`'s batch took in the last export, at most [`MAX_RESERVE`].
fn last_size(sizes: &[(&'static str, usize)], target: &str) -> usize {
    let last = sizes.iter().find(|(t, _)| *t == target);
    last.map_or(0, |(_, size)| *size).min(MAX_RESERVE)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

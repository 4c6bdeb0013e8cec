//! [`Batch`]: items encoded on the thread that made them, into a bounded batch grouped by
//! scope, exported by a thread of its own. Log records ([`super::RecordExport`]) and spans
//! ([`super::SpanBatch`]) both take it.
//!
//! It keeps what the SDK's batch processors promise: a bounded queue (an item past
//! [`BatchSettings::queue_size`] is dropped and counted), a batch sent when it is full or when
//! the delay has passed, a flush that waits for what was queued before it, and a shutdown that
//! sends what is left before it returns. What it saves is the item the SDK would queue: each
//! one is written once, as protobuf, where it ends, and a batch is the concatenation of those
//! bytes under each scope's header. Nothing is copied to another thread but bytes, and what the
//! item held is freed by the thread that allocated it.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;

use super::protobuf::{Encoded, Writer};
use super::transport::Sender;
use crate::telemetry::BatchSettings;
use crate::telemetry::counting::{ExportCounters, gated};
use crate::telemetry::gate::ExportGate;
use crate::threads::{finished_within, lock};

/// Items in one export request, at most; a full batch is sent without waiting for the delay.
const MAX_BATCH: usize = 512;

/// The largest buffer kept for a scope's next batch, in bytes.
const MAX_RESERVE: usize = 1 << 20;

/// The encoded items of each scope, in a batch.
type Scopes<K> = Vec<(<K as Kind>::Scope, Vec<u8>)>;

/// What a batch holds: how its items are grouped, and the request around the groups.
pub(crate) trait Kind: Send + Sync + 'static {
    /// What items are grouped by: a log record's target, a span's instrumentation scope.
    type Scope: Send + fmt::Debug + 'static;
    /// The export thread's name.
    const THREAD: &'static str;

    /// The export request of `scopes`, each with its items' encoded bytes.
    fn request(&self, resource: &Resource, scopes: &[(Self::Scope, Vec<u8>)]) -> Encoded;
}

/// Exports items in batches; cheap to clone (every clone feeds the same batch).
pub(crate) struct Batch<K: Kind> {
    shared: Arc<Shared<K>>,
}

impl<K: Kind> Clone for Batch<K> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K: Kind> fmt::Debug for Batch<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch").field("kind", &K::THREAD).finish()
    }
}

struct Shared<K: Kind> {
    pending: Mutex<Pending<K>>,
    /// Wakes the export thread: a full batch, a flush, the stop.
    wake: Condvar,
    /// Wakes a flush: a batch was sent.
    sent: Condvar,
    counters: Arc<ExportCounters>,
    capacity: usize,
    resource: Mutex<Resource>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The items waiting, per scope, and what the export thread is asked to do.
struct Pending<K: Kind> {
    /// Per scope: its items, encoded.
    scopes: Scopes<K>,
    items: usize,
    stop: bool,
    /// A flush asked for the batch to go now.
    flush: bool,
    /// Batches taken by the export thread so far (a flush waits for the next one to be sent).
    taken: u64,
    /// Batches sent so far.
    sent: u64,
    /// Per scope, the buffer of its batch in the last export, emptied: its next batch is
    /// written into it, so a batch neither grows by copying nor is allocated by one thread
    /// and freed by another. A scope absent from the last export starts with a new buffer.
    spare: Scopes<K>,
}

impl<K: Kind> Default for Pending<K> {
    fn default() -> Self {
        Self {
            scopes: Vec::new(),
            items: 0,
            stop: false,
            flush: false,
            taken: 0,
            sent: 0,
            spare: Vec::new(),
        }
    }
}

/// What the export thread needs besides the queue.
struct Exporter<K> {
    kind: K,
    sender: Sender,
    delay: Duration,
    gate: ExportGate,
}

impl<K: Kind> Batch<K> {
    /// Starts the export thread, sending `kind`'s requests through `sender` on behalf of
    /// `resource`; counts into `counters`.
    pub(crate) fn start(
        kind: K,
        sender: Sender,
        resource: Resource,
        settings: &BatchSettings,
        counters: Arc<ExportCounters>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            wake: Condvar::new(),
            sent: Condvar::new(),
            counters,
            capacity: settings.queue_size,
            resource: Mutex::new(resource),
            thread: Mutex::default(),
        });
        let exporter = Exporter {
            kind,
            sender,
            delay: settings.delay,
            gate: ExportGate::default(),
        };
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(K::THREAD.into())
            .spawn(move || exporter.run(&worker))?;
        *lock(&shared.thread) = Some(thread);
        Ok(Self { shared })
    }

    /// Encodes an item with `encode` into the batch of the scope `is_scope` accepts (made by
    /// `new_scope` when the batch has none yet), or counts it dropped when the queue is full.
    pub(crate) fn push(
        &self,
        is_scope: impl Fn(&K::Scope) -> bool,
        new_scope: impl FnOnce() -> K::Scope,
        encode: impl FnOnce(&mut Writer),
    ) {
        let shared = &self.shared;
        let mut pending = lock(&shared.pending);
        if pending.stop || !shared.counters.admit(shared.capacity) {
            return;
        }
        let at = match pending.scopes.iter().position(|(s, _)| is_scope(s)) {
            Some(at) => at,
            None => {
                let batch = match pending.spare.iter().position(|(s, _)| is_scope(s)) {
                    Some(at) => pending.spare.swap_remove(at).1,
                    None => Vec::new(),
                };
                pending.scopes.push((new_scope(), batch));
                pending.scopes.len() - 1
            }
        };
        let mut w = Writer::appending(std::mem::take(&mut pending.scopes[at].1));
        encode(&mut w);
        pending.scopes[at].1 = w.into_bytes();
        pending.items += 1;
        if pending.items >= MAX_BATCH {
            shared.wake.notify_one();
        }
    }

    /// The resource the requests are sent on behalf of, from now on.
    pub(crate) fn set_resource(&self, resource: &Resource) {
        *lock(&self.shared.resource) = resource.clone();
    }

    /// Sends what is waiting now, and waits at most `timeout` until it is sent.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), OTelSdkError> {
        let deadline = Instant::now() + timeout;
        let mut pending = lock(&self.shared.pending);
        if pending.stop {
            return Ok(()); // shut down: nothing is left to send
        }
        // Whatever is queued now goes in the batch after those already taken.
        let wanted = pending.taken + 1;
        pending.flush = true;
        self.shared.wake.notify_one();
        while pending.sent < wanted {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(OTelSdkError::Timeout(timeout));
            }
            pending = self
                .shared
                .sent
                .wait_timeout(pending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(())
    }

    /// Sends what is waiting and stops the export thread, waiting at most `timeout`.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), OTelSdkError> {
        lock(&self.shared.pending).stop = true;
        self.shared.wake.notify_one();
        let Some(thread) = lock(&self.shared.thread).take() else {
            return Ok(()); // already shut down
        };
        if !finished_within(&thread, timeout) {
            return Err(OTelSdkError::Timeout(timeout));
        }
        thread.join().map_err(|_| {
            OTelSdkError::InternalFailure(format!("the {} thread panicked", K::THREAD))
        })
    }
}

impl<K: Kind> Exporter<K> {
    /// Waits for a full batch, the delay, a flush or the stop; sends; until stopped and empty.
    fn run(self, shared: &Shared<K>) {
        loop {
            let (mut scopes, items, stop) = self.next_batch(shared);
            if items > 0 {
                self.send(shared, &scopes, items);
            }
            for (_, batch) in &mut scopes {
                batch.clear();
            }
            // A buffer that grew past the bound is freed rather than kept.
            scopes.retain(|(_, batch)| batch.capacity() <= MAX_RESERVE);
            let mut pending = lock(&shared.pending);
            pending.spare = scopes;
            pending.sent += 1;
            drop(pending);
            shared.sent.notify_all();
            if stop {
                return;
            }
        }
    }

    /// The batch to send: everything waiting once it is full, the delay has passed, a flush
    /// asks for it, or the export is stopping.
    fn next_batch(&self, shared: &Shared<K>) -> (Scopes<K>, usize, bool) {
        let deadline = Instant::now() + self.delay;
        let mut pending = lock(&shared.pending);
        while pending.items < MAX_BATCH && !pending.stop && !pending.flush {
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
        pending.flush = false;
        pending.taken += 1;
        let items = std::mem::take(&mut pending.items);
        (std::mem::take(&mut pending.scopes), items, pending.stop)
    }

    fn send(&self, shared: &Shared<K>, scopes: &[(K::Scope, Vec<u8>)], items: usize) {
        let resource = lock(&shared.resource).clone();
        let request = self.kind.request(&resource, scopes);
        let sent = self.sender.export(request);
        let outcome = gated(&self.gate, &shared.counters, items, sent);
        // This thread is no runtime's: block on the export runtime's answer.
        let _ = self.sender.block_on(outcome);
    }
}

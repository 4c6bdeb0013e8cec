//! Where log lines go: stdout and, optionally, a file, through non-blocking writers.
//!
//! Each output has its own writer thread fed by a bounded queue (128,000 lines). The request
//! path only enqueues, so a slow terminal or disk never slows a request. The queue is **lossy**:
//! when it is full, new lines are dropped rather than blocking. Drops are counted, and a
//! reporter thread writes a `WARN` line with the number dropped (`dropped_lines`) every
//! [`REPORT_EVERY`] while drops keep happening, so a loss is visible in the log itself.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

/// How often the drop reporter looks at the counters.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Lines a writer may hold before it drops.
const QUEUE_LINES: usize = 128_000;

/// Opening a log output failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The log file (or its directory) could not be created or opened for appending.
    #[error("cannot open log file {path}")]
    OpenFile {
        /// The file asked for.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

/// The non-blocking writers of one process. Hold it until exit: dropping it flushes what is
/// queued and stops the writer threads.
#[must_use = "dropping the outputs stops log writing"]
pub struct LogOutputs {
    /// Writer for stdout.
    pub stdout: NonBlocking,
    /// Writer for the log file, when one was asked for.
    pub file: Option<NonBlocking>,
    guards: Vec<WorkerGuard>,
    stop_reporter: Arc<AtomicBool>,
}

impl LogOutputs {
    /// Starts the stdout writer and, with `file`, an appending file writer.
    pub fn open(file: Option<&Path>) -> Result<Self, OutputError> {
        let (stdout, stdout_guard) = writer(io::stdout());
        let mut guards = vec![stdout_guard];
        let file = match file {
            Some(path) => {
                let (w, guard) = writer(open_append(path)?);
                guards.push(guard);
                Some(w)
            }
            None => None,
        };
        let counters = std::iter::once(&stdout)
            .chain(file.as_ref())
            .map(NonBlocking::error_counter)
            .collect();
        let stop_reporter = Arc::new(AtomicBool::new(false));
        spawn_drop_reporter(counters, Arc::clone(&stop_reporter));
        Ok(Self {
            stdout,
            file,
            guards,
            stop_reporter,
        })
    }

    /// Flushes queued lines and stops the writer threads.
    pub fn flush(self) {
        drop(self);
    }
}

impl Drop for LogOutputs {
    fn drop(&mut self) {
        self.stop_reporter.store(true, Ordering::Relaxed);
        self.guards.clear();
    }
}

/// A writer thread for `sink`. The thread drains every queued line into a 64 KiB buffer and
/// flushes when the queue is empty: one `write` per burst rather than one per line, and no
/// line waits once the burst is over.
fn writer<T: io::Write + Send + 'static>(sink: T) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUE_LINES)
        .thread_name("ordertrail-log-writer")
        .finish(io::BufWriter::with_capacity(64 * 1024, sink))
}

fn open_append(path: &Path) -> Result<std::fs::File, OutputError> {
    let fail = |source| OutputError::OpenFile {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)
}

/// Reports growth of the drop counters as a warning event every [`REPORT_EVERY`], until told
/// to stop.
fn spawn_drop_reporter(counters: Vec<ErrorCounter>, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("ordertrail-log-drops".into())
        .spawn(move || {
            let mut reported = 0;
            while wait_period(&stop, REPORT_EVERY) {
                let dropped: usize = counters.iter().map(ErrorCounter::dropped_lines).sum();
                if dropped > reported {
                    tracing::warn!(
                        dropped_lines = dropped - reported,
                        total_dropped = dropped,
                        "log lines were dropped: the log writer fell behind"
                    );
                    reported = dropped;
                }
            }
        });
    if let Err(err) = spawned {
        eprintln!("ordertrail: cannot start the log drop reporter: {err}");
    }
}

/// Sleeps one `period` in short steps; false as soon as asked to stop.
pub(crate) fn wait_period(stop: &AtomicBool, period: Duration) -> bool {
    let step = period.min(Duration::from_millis(250));
    let mut waited = Duration::ZERO;
    while waited < period {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep(step);
        waited += step;
    }
    !stop.load(Ordering::Relaxed)
}

//! Where log lines go: stdout and, optionally, a file, through non-blocking writers.
//!
//! Each output has its own writer thread fed by a bounded queue (128,000 lines, see
//! [`LineWriter`]). The request path only appends, so a slow terminal or disk never slows a
//! request. The queue is **lossy**: when it is full, new lines are dropped rather than blocking. Drops are counted, and a
//! reporter thread writes a `WARN` line with the number dropped (`dropped_lines`) every
//! [`REPORT_EVERY`] while drops keep happening, so a loss is visible in the log itself.
//!
//! # When a write fails
//! The writer thread cannot tell anyone when the file or stdout refuses a write (a full disk, a
//! closed pipe), so each output goes through a `WholeLines` writer that counts the lines it
//! could not write; the same `WARN` line reports them as `failed_writes`. Lines reach the file
//! whole or not at all: a burst is written with one `write_all`, and when that fails part-way
//! the file is cut back to its length before the burst, so a torn line never glues itself to
//! the next one. Writing resumes by itself once space returns; the burst that failed is lost,
//! and counted. A burst is whatever lines gathered while the last one was written.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::line_writer::{Bursts, LineGuard, LineWriter};

/// How often the drop reporter looks at the counters.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

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
    /// A writer thread could not be started.
    #[error("cannot start a log writer thread")]
    WriterThread(#[source] io::Error),
}

/// The non-blocking writers of one process. Hold it until exit: dropping it flushes what is
/// queued and stops the writer threads.
#[must_use = "dropping the outputs stops log writing"]
pub struct LogOutputs {
    /// Writer for stdout.
    pub stdout: LineWriter,
    /// Writer for the log file, when one was asked for.
    pub file: Option<LineWriter>,
    guards: Vec<LineGuard>,
    stop_reporter: Arc<AtomicBool>,
}

impl LogOutputs {
    /// Starts the stdout writer and, with `file`, an appending file writer.
    pub fn open(file: Option<&Path>) -> Result<Self, OutputError> {
        let failed = Arc::new(AtomicUsize::new(0));
        let (stdout, stdout_guard) = writer(io::stdout(), Arc::clone(&failed))?;
        let mut guards = vec![stdout_guard];
        let file = match file {
            Some(path) => {
                let (w, guard) = writer(open_append(path)?, Arc::clone(&failed))?;
                guards.push(guard);
                Some(w)
            }
            None => None,
        };
        let counters = std::iter::once(&stdout)
            .chain(file.as_ref())
            .cloned()
            .collect();
        let stop_reporter = Arc::new(AtomicBool::new(false));
        spawn_drop_reporter(counters, failed, Arc::clone(&stop_reporter));
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

/// A writer thread for `sink`: it writes whatever lines gathered while it wrote the last
/// burst, with one `write` per burst rather than one per line. Lines it cannot write are added
/// to `failed`.
fn writer<T: Output + Send + 'static>(
    sink: T,
    failed: Arc<AtomicUsize>,
) -> Result<(LineWriter, LineGuard), OutputError> {
    let sink = WholeLines::new(sink, failed);
    LineWriter::spawn(sink, "ordertrail-log-writer").map_err(OutputError::WriterThread)
}

/// Where a [`WholeLines`] writes: a stream that may know how to take back a partial write.
trait Output: io::Write {
    /// The length to cut back to after a failed write, when there is one (a file).
    fn length(&self) -> Option<u64> {
        None
    }

    /// Cuts the output back to `length`, dropping a partially written burst.
    fn cut_back(&mut self, _length: u64) -> io::Result<()> {
        Ok(())
    }
}

impl Output for io::Stdout {}

impl Output for std::fs::File {
    fn length(&self) -> Option<u64> {
        self.metadata().ok().map(|m| m.len())
    }

    fn cut_back(&mut self, length: u64) -> io::Result<()> {
        self.set_len(length)
    }
}

/// Gathers whole lines (each `write` from the worker is one line) and writes them in bursts,
/// whole or not at all, counting the lines of a failed burst in `failed`.
struct WholeLines<T: Output> {
    output: T,
    failed: Arc<AtomicUsize>,
}

impl<T: Output> WholeLines<T> {
    fn new(output: T, failed: Arc<AtomicUsize>) -> Self {
        Self { output, failed }
    }

    /// Writes `burst` (`lines` whole lines) with one `write_all`; on failure, takes back what
    /// went out and counts the burst's lines as failed.
    fn write_whole(&mut self, burst: &[u8], lines: usize) -> io::Result<()> {
        let before = self.output.length();
        let written = self.output.write_all(burst);
        if written.is_err() {
            self.failed.fetch_add(lines, Ordering::Relaxed);
            if let Some(length) = before {
                // Best effort: if even this fails, the next burst still starts a new write.
                let _ = self.output.cut_back(length);
            }
        }
        written
    }
}

impl<T: Output + Send + 'static> Bursts for WholeLines<T> {
    fn write_burst(&mut self, burst: &[u8], lines: usize) {
        // A failed burst is counted; the next one gets its own chance.
        let _ = self.write_whole(burst, lines);
    }

    fn finish(&mut self) {
        let _ = self.output.flush();
    }
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

/// Reports growth of the drop and write-failure counters as a warning event every
/// [`REPORT_EVERY`], until told to stop.
fn spawn_drop_reporter(counters: Vec<LineWriter>, failed: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("ordertrail-log-drops".into())
        .spawn(move || {
            let mut reported = Losses::default();
            while wait_period(&stop, REPORT_EVERY) {
                let now = Losses {
                    dropped: counters.iter().map(LineWriter::dropped_lines).sum(),
                    failed: failed.load(Ordering::Relaxed),
                };
                if now != reported {
                    report(now, reported);
                    reported = now;
                }
            }
        });
    if let Err(err) = spawned {
        eprintln!("ordertrail: cannot start the log drop reporter: {err}");
    }
}

/// Lines lost so far: dropped from a full queue, or refused by the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Losses {
    dropped: usize,
    failed: usize,
}

/// One `WARN` line for the losses since `before`.
fn report(now: Losses, before: Losses) {
    tracing::warn!(
        dropped_lines = now.dropped - before.dropped,
        failed_writes = now.failed - before.failed,
        total_dropped = now.dropped,
        total_failed_writes = now.failed,
        "log lines were lost: the log writer fell behind or could not write (disk full?)"
    );
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::Mutex;

    use super::*;

    /// An output with `room` bytes of space left, which fails (after writing what fits) like a
    /// full disk.
    #[derive(Clone, Default)]
    struct SmallDisk {
        data: Arc<Mutex<Vec<u8>>>,
        room: Arc<AtomicUsize>,
    }

    impl io::Write for SmallDisk {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let fits = bytes.len().min(self.room.load(Ordering::Relaxed));
            if fits == 0 {
                return Err(io::ErrorKind::StorageFull.into());
            }
            self.room.fetch_sub(fits, Ordering::Relaxed);
            self.data.lock().unwrap().extend_from_slice(&bytes[..fits]);
            Ok(fits)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Output for SmallDisk {
        fn length(&self) -> Option<u64> {
            Some(self.data.lock().unwrap().len() as u64)
        }

        fn cut_back(&mut self, length: u64) -> io::Result<()> {
            let mut data = self.data.lock().unwrap();
            let freed = data.len() - length as usize;
            data.truncate(length as usize);
            self.room.fetch_add(freed, Ordering::Relaxed);
            Ok(())
        }
    }

    fn text(disk: &SmallDisk) -> String {
        String::from_utf8(disk.data.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_failed_write_leaves_whole_lines_and_is_counted() {
        let disk = SmallDisk::default();
        disk.room.store(20, Ordering::Relaxed);
        let failed = Arc::new(AtomicUsize::new(0));
        let mut lines = WholeLines::new(disk.clone(), Arc::clone(&failed));

        lines.write_whole(b"{\"n\":1}\n", 1).unwrap();
        let burst = b"{\"n\":2,\"pad\":\"xxxx\"}\n{\"n\":3}\n";
        assert!(
            lines.write_whole(burst, 2).is_err(),
            "the burst does not fit"
        );
        assert_eq!(
            text(&disk),
            "{\"n\":1}\n",
            "the partial burst is taken back"
        );
        assert_eq!(failed.load(Ordering::Relaxed), 2);

        disk.room.store(1024, Ordering::Relaxed);
        lines.write_whole(b"{\"n\":4}\n", 1).unwrap();
        let parsed: Vec<serde_json::Value> = text(&disk)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            parsed,
            [serde_json::json!({"n": 1}), serde_json::json!({"n": 4})]
        );
        assert_eq!(failed.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn lines_through_the_writer_thread_reach_the_output_whole() {
        let disk = SmallDisk::default();
        disk.room.store(1 << 20, Ordering::Relaxed);
        let failed = Arc::new(AtomicUsize::new(0));
        let (writer, guard) = writer(disk.clone(), Arc::clone(&failed)).unwrap();
        for n in 0..100 {
            let line = format!("{{\"n\":{n}}}\n");
            (&writer).write_all(line.as_bytes()).unwrap();
        }
        drop(guard);
        let numbers: Vec<u64> = text(&disk)
            .lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(numbers, (0..100).collect::<Vec<_>>());
        assert_eq!(failed.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_warning_reports_failed_writes() {
        use tracing_subscriber::layer::SubscriberExt as _;

        let buffer = Arc::new(Mutex::new(Vec::new()));
        let make = {
            let buffer = Arc::clone(&buffer);
            move || SharedBuf(Arc::clone(&buffer))
        };
        let layer = crate::logging::JsonLayer::new("orders", make);
        let subscriber = tracing_subscriber::registry().with(layer);
        let now = Losses {
            dropped: 0,
            failed: 3,
        };
        tracing::subscriber::with_default(subscriber, || report(now, Losses::default()));
        let line = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        let event: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(event["failed_writes"], 3);
        assert_eq!(event["dropped_lines"], 0);
    }

    /// A `MakeWriter` target over a shared buffer.
    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for SharedBuf {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(bytes)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

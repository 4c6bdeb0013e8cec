//! [`LineWriter`]: a non-blocking writer of whole lines, with one writer thread per output.
//!
//! A line is appended to a shared buffer under a short lock; the writer thread swaps that
//! buffer for an empty one and writes everything it took as one burst. Nothing is allocated
//! per line, and the writer thread is woken only when it waits for an empty buffer: once woken,
//! and after each burst, it sleeps [`GATHER`] while the next lines gather, and goes back to
//! waiting only when none came. Under load no request thread wakes it: it writes one burst
//! per [`GATHER`] on its own clock, instead of being woken once per line; a line waits at most
//! that long more. (tracing-appender's writer, used before, copies each line into a `Vec` of
//! its own and sends it through a channel, which its thread takes one by one.)
//!
//! The buffer is bounded: past [`QUEUE_LINES`] lines waiting, a line is dropped and counted
//! ([`LineWriter::dropped_lines`]), never waited for, so a slow terminal or disk never slows
//! a request.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

use crate::threads::{finished_within, lock};

/// Lines waiting to be written, at most; past it a line is dropped and counted.
pub const QUEUE_LINES: usize = 128_000;

/// The largest buffer kept for the next burst once written, in bytes.
const KEEP_BYTES: usize = 4 << 20;

/// How long dropping a [`LineGuard`] waits for the writer thread to finish.
pub const STOP_WAIT: Duration = Duration::from_secs(5);

/// How long the writer thread lets lines gather, after a line woke it and after each burst,
/// before it writes them. Under the overhead bench's load, 1 ms (a burst and two thread
/// switches per millisecond, on the requests' core) cost about 5% more server CPU per request
/// than 5 ms (BENCHMARKS.md).
const GATHER: Duration = Duration::from_millis(5);

/// Writes each line it is given, whole, from a thread of its own; cheap to clone.
#[derive(Clone)]
pub struct LineWriter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LineWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineWriter")
            .field("dropped_lines", &self.dropped_lines())
            .finish()
    }
}

/// Stops the writer thread when dropped, after it wrote every line given before; waits for it
/// at most [`STOP_WAIT`] (an output that blocks, such as a pipe nobody reads, loses its last
/// lines rather than holding the process at exit).
#[must_use = "dropping the guard stops the writer"]
#[derive(Debug)]
pub struct LineGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    stop_wait: Duration,
}

#[derive(Debug, Default)]
struct Shared {
    waiting: Mutex<Waiting>,
    wake: Condvar,
    dropped: AtomicUsize,
}

/// The lines not yet taken by the writer thread, and what it is doing.
#[derive(Debug, Default)]
struct Waiting {
    bytes: Vec<u8>,
    lines: usize,
    /// The writer thread waits for lines: the next line wakes it.
    idle: bool,
    stop: bool,
}

/// Where a [`LineWriter`]'s thread writes: each burst of whole lines at once.
pub(crate) trait Bursts: Send + 'static {
    /// Writes `burst`, which holds `lines` whole lines.
    fn write_burst(&mut self, burst: &[u8], lines: usize);
    /// Flushes what was written, before the thread stops.
    fn finish(&mut self);
}

impl LineWriter {
    /// Starts a writer thread named `name`, writing into `sink`.
    pub(crate) fn spawn(sink: impl Bursts, name: &str) -> io::Result<(Self, LineGuard)> {
        Self::spawn_waiting(sink, name, STOP_WAIT)
    }

    /// [`LineWriter::spawn`], its guard waiting at most `stop_wait` for the thread.
    fn spawn_waiting(
        sink: impl Bursts,
        name: &str,
        stop_wait: Duration,
    ) -> io::Result<(Self, LineGuard)> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(&worker, sink))?;
        let guard = LineGuard {
            shared: Arc::clone(&shared),
            thread: Some(thread),
            stop_wait,
        };
        Ok((Self { shared }, guard))
    }

    /// Lines dropped so far because [`QUEUE_LINES`] were already waiting, or because the
    /// writer had stopped.
    pub fn dropped_lines(&self) -> usize {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Queues `line` (one whole line), or drops and counts it when the queue is full.
    fn put(&self, line: &[u8]) {
        let mut waiting = lock(&self.shared.waiting);
        if waiting.stop || waiting.lines >= QUEUE_LINES {
            drop(waiting);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        waiting.bytes.extend_from_slice(line);
        waiting.lines += 1;
        let wake = std::mem::take(&mut waiting.idle);
        drop(waiting);
        if wake {
            self.shared.wake.notify_one();
        }
    }
}

impl io::Write for &LineWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.put(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LineWriter {
    type Writer = &'a LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Drop for LineGuard {
    fn drop(&mut self) {
        lock(&self.shared.waiting).stop = true;
        self.shared.wake.notify_one();
        let Some(thread) = self.thread.take() else {
            return;
        };
        if finished_within(&thread, self.stop_wait) {
            let _ = thread.join();
        }
    }
}

/// The writer thread: takes whatever lines are waiting, writes them as one burst, until
/// stopped with nothing left.
fn run(shared: &Shared, mut sink: impl Bursts) {
    let mut burst = Vec::new();
    loop {
        let (lines, stop) = take(shared, &mut burst);
        if lines > 0 {
            sink.write_burst(&burst, lines);
        }
        burst.clear();
        if burst.capacity() > KEEP_BYTES {
            burst = Vec::new();
        }
        if stop && lines == 0 {
            sink.finish();
            return;
        }
        if lines > 0 && !stop {
            // Lines are coming: let the next ones gather on their own, rather than go idle
            // and have the next line's thread wake this one.
            std::thread::sleep(GATHER);
        }
    }
}

/// Waits for lines or the stop; swaps the waiting lines into `burst`. Returns how many, and
/// whether the writer is stopping.
fn take(shared: &Shared, burst: &mut Vec<u8>) -> (usize, bool) {
    let mut waiting = lock(&shared.waiting);
    if waiting.lines == 0 && !waiting.stop {
        while waiting.lines == 0 && !waiting.stop {
            waiting.idle = true;
            waiting = shared
                .wake
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        }
        waiting.idle = false;
        if !waiting.stop {
            // Woken by a line: let the lines that follow it join its burst.
            drop(waiting);
            std::thread::sleep(GATHER);
            waiting = lock(&shared.waiting);
        }
    }
    waiting.idle = false;
    std::mem::swap(&mut waiting.bytes, burst);
    (std::mem::take(&mut waiting.lines), waiting.stop)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// One burst: its bytes and its number of lines.
    type Burst = (Vec<u8>, usize);

    /// Keeps every burst it is given.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<Burst>>>);

    impl Bursts for Kept {
        fn write_burst(&mut self, burst: &[u8], lines: usize) {
            self.0.lock().unwrap().push((burst.to_vec(), lines));
        }
        fn finish(&mut self) {}
    }

    impl Kept {
        fn text(&self) -> String {
            let bursts = self.0.lock().unwrap();
            bursts
                .iter()
                .map(|(b, _)| String::from_utf8_lossy(b).into_owned())
                .collect()
        }
        fn lines(&self) -> usize {
            self.0.lock().unwrap().iter().map(|(_, n)| n).sum()
        }
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_the_guard_is_dropped() {
        let kept = Kept::default();
        let (writer, guard) = LineWriter::spawn(kept.clone(), "test-lines").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for n in 0..1000 {
                        (&writer)
                            .write_all(format!("{t}:{n}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(guard);
        assert_eq!(kept.lines(), 4000);
        let text = kept.text();
        for t in 0..4 {
            let own: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{t}:")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(own, (0..1000).collect::<Vec<_>>(), "thread {t}");
        }
        assert_eq!(writer.dropped_lines(), 0);
    }

    /// Holds the writer thread inside its first burst until released.
    struct Stuck {
        entered: std::sync::mpsc::Sender<()>,
        release: Arc<Mutex<()>>,
        kept: Kept,
    }

    impl Bursts for Stuck {
        fn write_burst(&mut self, burst: &[u8], lines: usize) {
            let _ = self.entered.send(());
            let _held = self.release.lock().unwrap();
            self.kept.write_burst(burst, lines);
        }
        fn finish(&mut self) {}
    }

    #[test]
    fn past_the_bound_lines_are_dropped_and_counted_never_waited_for() {
        let (entered, first) = std::sync::mpsc::channel();
        let release = Arc::new(Mutex::new(()));
        let held = release.lock().unwrap();
        let kept = Kept::default();
        let sink = Stuck {
            entered,
            release: Arc::clone(&release),
            kept: kept.clone(),
        };
        let (writer, guard) = LineWriter::spawn(sink, "test-bound").unwrap();
        (&writer).write_all(b"first\n").unwrap();
        first.recv().unwrap(); // the writer thread is stuck in the first burst
        for _ in 0..QUEUE_LINES + 10 {
            (&writer).write_all(b"x\n").unwrap();
        }
        assert_eq!(writer.dropped_lines(), 10);
        drop(held);
        drop(guard);
        assert_eq!(kept.lines(), 1 + QUEUE_LINES);
    }

    #[test]
    fn a_writer_stuck_in_its_output_does_not_hold_the_guard_past_its_wait() {
        let (entered, first) = std::sync::mpsc::channel();
        let release = Arc::new(Mutex::new(()));
        let held = release.lock().unwrap();
        let sink = Stuck {
            entered,
            release: Arc::clone(&release),
            kept: Kept::default(),
        };
        let wait = Duration::from_millis(50);
        let (writer, guard) = LineWriter::spawn_waiting(sink, "test-stuck", wait).unwrap();
        (&writer).write_all(b"never written\n").unwrap();
        first.recv().unwrap(); // stuck in the output for as long as `held` lives
        drop(guard); // returns once the wait is over, the thread still stuck
        drop(held);
    }

    #[test]
    fn lines_after_the_stop_are_counted_dropped() {
        let (writer, guard) = LineWriter::spawn(Kept::default(), "test-stop").unwrap();
        drop(guard);
        (&writer).write_all(b"late\n").unwrap();
        assert_eq!(writer.dropped_lines(), 1);
    }
}

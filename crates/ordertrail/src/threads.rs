//! What the library's own threads share: a lock that outlives a panic, and a bounded wait for a
//! thread to finish.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Locks `mutex`, also after a thread panicked holding it: the data behind these locks (queued
/// bytes and counts) stays whole at every step, so a panic elsewhere must not stop the export.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits at most `timeout` for `thread` to finish; whether it did.
pub(crate) fn finished_within(thread: &JoinHandle<()>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !thread.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_thread_is_seen_and_a_stuck_one_is_given_up_on() {
        let quick = std::thread::spawn(|| {});
        assert!(finished_within(&quick, Duration::from_secs(5)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let stuck = std::thread::spawn(move || {
            let _ = wait.recv();
        });
        assert!(!finished_within(&stuck, Duration::from_millis(20)));
        drop(release);
        assert!(finished_within(&stuck, Duration::from_secs(5)));
    }

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let mutex = std::sync::Arc::new(Mutex::new(7));
        let holder = std::sync::Arc::clone(&mutex);
        let _ = std::thread::spawn(move || {
            let _held = holder.lock().unwrap();
            panic!("while holding the lock");
        })
        .join();
        assert!(mutex.is_poisoned());
        assert_eq!(*lock(&mutex), 7);
    }
}

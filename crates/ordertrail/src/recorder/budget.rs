//! [`Budget`]: the bytes all buffers may hold together, reserved without locks or waiting.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A byte budget shared by every request's buffer. A reservation that does not fit fails at
/// once (the caller drops the event); the total in use never exceeds the limit, not even for
/// an instant.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    in_use: AtomicUsize,
    peak: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes, none in use.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            in_use: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget; false, taking nothing, when they do not fit.
    pub(crate) fn try_reserve(&self, bytes: usize) -> bool {
        let fits = |used: usize| used.checked_add(bytes).filter(|total| *total <= self.limit);
        match self
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, fits)
        {
            Ok(before) => {
                self.peak.fetch_max(before + bytes, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// Gives `bytes` back.
    pub(crate) fn release(&self, bytes: usize) {
        self.in_use.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held by buffers now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    /// The most bytes ever held at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_reservation_past_the_limit_fails_and_takes_nothing() {
        let budget = Budget::new(100);
        assert!(budget.try_reserve(60));
        assert!(!budget.try_reserve(41));
        assert_eq!(budget.in_use(), 60);
        assert!(budget.try_reserve(40));
        budget.release(100);
        assert_eq!((budget.in_use(), budget.peak()), (0, 100));
    }

    #[test]
    fn threads_racing_never_push_it_past_the_limit() {
        let budget = Arc::new(Budget::new(1000));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let budget = Arc::clone(&budget);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        if budget.try_reserve(7) {
                            budget.release(7);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(budget.peak() <= 1000);
        assert_eq!(budget.in_use(), 0);
    }
}

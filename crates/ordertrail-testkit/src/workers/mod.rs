//! The real `ordertrail serve --workers N` (a master and its worker processes) on 127.0.0.1,
//! its JSON log lines, and a closed-loop HTTP load.
//!
//! Every wait is bounded; every process is SIGKILLed when its [`Master`] is dropped, workers
//! included, so a failing test leaves nothing behind.
//!
//! # Layout
//! - `master`: [`Master`], the process tree, its log lines and `/proc` checks.
//! - `load`: [`Load`], concurrent request loops and what each request did.

mod load;
mod master;

use tokio::sync::{Mutex, MutexGuard};

pub use load::{Load, Outcome, load_client};
pub use master::{Master, STARTUP, alive, worker_pid};

/// Tests of one binary run one at a time: their timing bounds assume the two cores are theirs.
pub async fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::const_new(());
    SERIAL.lock().await
}

//! What the `workers_*` tests share: the real `ordertrail serve --workers N` (a master and its
//! worker processes) on 127.0.0.1, its JSON log lines, and a closed-loop HTTP load.
//!
//! Every wait is bounded; every process is SIGKILLed when its [`Master`] is dropped, workers
//! included, so a failing test leaves nothing behind.
//!
//! # Layout
//! - `master`: [`Master`], the process tree, its log lines and `/proc` checks.
//! - `load`: [`Load`], concurrent request loops and what each request did.

#![allow(dead_code, unused_imports, unreachable_pub)] // each test binary uses its own part of the harness

mod load;
mod master;

use tokio::sync::{Mutex, MutexGuard};

pub use load::{Load, Outcome, client as load_client};
pub use master::{Master, alive};

/// Tests of one binary run one at a time: their timing bounds assume the two cores are theirs.
pub async fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::const_new(());
    SERIAL.lock().await
}

/// A port that was free a moment ago (bound on 127.0.0.1:0 and released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

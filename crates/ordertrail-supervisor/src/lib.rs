//! A master process and its workers, as `uvicorn --workers N` or gunicorn run them: the master
//! binds the port once, starts N worker processes that inherit the socket, restarts those that
//! die, and never serves a request itself. The kernel hands each new connection to one worker;
//! each worker runs one event loop.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ordertrail_supervisor::SupervisorError> {
//! use ordertrail_supervisor::{Master, MasterConfig, WorkerCommand, bind_inheritable};
//!
//! // In the master (inside a tokio runtime):
//! let listener = bind_inheritable("127.0.0.1:8080".parse().unwrap())?;
//! let command = WorkerCommand {
//!     program: std::env::current_exe().unwrap(),
//!     args: std::env::args_os().skip(1).collect(),
//! };
//! let stopped = Master::new(MasterConfig::new(4, command), listener).run().await?;
//! assert!(stopped.is_clean());
//! # Ok(()) }
//! ```
//!
//! A worker is the same binary started with [`env::LISTEN_FD`], [`env::READY_FD`] and
//! [`env::WORKER_INDEX`] set. It takes the descriptors with [`Inherited::from_raw_fds`], builds
//! its router, and runs [`serve_worker`] on a current-thread runtime; the binary reads the
//! variables, the library never does.
//!
//! # Lifecycle
//! - A worker that exits unasked is restarted after a [`Backoff`] delay (100 ms doubling to
//!   10 s); a crash loop is logged as a warning and throttled.
//! - SIGTERM or SIGINT: every worker drains (see [`serve_worker`]); SIGKILL after the stop
//!   timeout; the master exits last.
//! - SIGHUP: rolling restart, one worker at a time: the replacement writes its readiness byte
//!   before the old one is told to drain.
//! - SIGTTIN / SIGTTOU: one worker more / fewer.
//!
//! # Layout
//! - `socket`: [`bind_inheritable`], the one listening socket every worker inherits.
//! - `readiness`: the pipe on which a worker says it accepts.
//! - `spawn`: [`WorkerCommand`] and starting one worker with its watch task.
//! - `backoff`: [`Backoff`], restart delays of a worker slot.
//! - `signals`: what SIGTERM, SIGINT, SIGHUP, SIGTTIN and SIGTTOU mean to the master.
//! - `master`: [`Master`], the supervising loop.
//! - `worker`: [`Inherited`], the worker's side of the inheritance, and [`follow_master`].
//! - `drain`: [`serve_worker`], serving and draining without failing a request.

mod backoff;
mod drain;
mod master;
mod readiness;
mod signals;
mod socket;
mod spawn;
mod worker;

pub use backoff::Backoff;
pub use drain::{LAME_DUCK, serve_worker, serve_worker_with};
pub use master::{Master, MasterConfig, Stopped};
pub use socket::bind_inheritable;
pub use spawn::WorkerCommand;
pub use worker::{BOOT_FAILED, Inherited, ReadyPipe, follow_master};

use std::net::SocketAddr;

/// The environment variables a master sets for each worker.
pub mod env {
    /// The number of the inherited listening socket's descriptor.
    pub const LISTEN_FD: &str = "ORDERTRAIL_LISTEN_FD";
    /// The number of the readiness pipe's write end.
    pub const READY_FD: &str = "ORDERTRAIL_READY_FD";
    /// The worker's index, 0 to N-1; a replacement takes its predecessor's index.
    pub const WORKER_INDEX: &str = "ORDERTRAIL_WORKER_INDEX";
}

/// Supervising workers, or being one, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// The listening socket could not be bound (the port is busy, say).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A descriptor could not be prepared (its close-on-exec flag, a pipe).
    #[error("cannot set up {what}")]
    Fd {
        /// Which descriptor.
        what: &'static str,
        /// Why.
        #[source]
        source: nix::Error,
    },
    /// A worker process could not be started.
    #[error("cannot start worker {index}")]
    Spawn {
        /// Its index.
        index: usize,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A descriptor a worker was told it inherited is not there, or not what it should be.
    #[error("inherited {what} descriptor {fd} is unusable")]
    Inherited {
        /// `listen` or `ready`.
        what: &'static str,
        /// Its number.
        fd: i32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The master's signal handlers could not be installed.
    #[error("cannot install signal handlers")]
    Signals(#[source] std::io::Error),
    /// A worker failed to boot before any worker was ready: the service cannot start.
    #[error("worker {index} failed to boot ({status}); see its log lines")]
    BootFailed {
        /// Its index.
        index: usize,
        /// How it exited.
        status: String,
    },
}

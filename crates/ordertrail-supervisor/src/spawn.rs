//! Starting one worker: the same binary re-executed with the listening socket, its readiness
//! pipe and its index, and a task that reports when it is ready and when it exits.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};

use tokio::sync::mpsc::UnboundedSender;

use super::readiness::{ready_pipe, wait_ready};
use super::{SupervisorError, env};

/// How to start a worker: a program and its arguments. The master adds
/// [`env::LISTEN_FD`], [`env::READY_FD`] and [`env::WORKER_INDEX`] to its environment; stdin is
/// closed, stdout and stderr are the master's.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// Usually `std::env::current_exe()`.
    pub program: PathBuf,
    /// Usually the master's own arguments.
    pub args: Vec<OsString>,
}

/// What a worker's watch task reports.
#[derive(Debug)]
pub(crate) enum Event {
    /// The worker wrote its readiness byte.
    Ready { pid: u32 },
    /// The worker exited (and was reaped).
    Exited {
        pid: u32,
        status: std::io::Result<ExitStatus>,
    },
}

/// Starts worker `index`, and a task that sends its [`Event`]s to `events`. Returns its pid.
pub(crate) fn spawn_worker(
    command: &WorkerCommand,
    index: usize,
    listener: BorrowedFd<'_>,
    events: UnboundedSender<Event>,
) -> Result<u32, SupervisorError> {
    let (read, write) = ready_pipe()?;
    let mut child = tokio::process::Command::new(&command.program)
        .args(&command.args)
        .env(env::LISTEN_FD, listener.as_raw_fd().to_string())
        .env(env::READY_FD, write.as_raw_fd().to_string())
        .env(env::WORKER_INDEX, index.to_string())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|source| SupervisorError::Spawn { index, source })?;
    // The worker holds its own copy now; ours would hide its end-of-file.
    drop(write);
    let pid = child.id().unwrap_or_default();
    tokio::spawn(async move {
        tokio::select! {
            ready = wait_ready(read) => {
                if ready {
                    let _ = events.send(Event::Ready { pid });
                }
            }
            status = child.wait() => {
                let _ = events.send(Event::Exited { pid, status });
                return;
            }
        }
        let status = child.wait().await;
        let _ = events.send(Event::Exited { pid, status });
    });
    Ok(pid)
}

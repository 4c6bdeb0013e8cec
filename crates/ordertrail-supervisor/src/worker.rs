//! The worker's side: taking over what the master passed down, and dying with the master.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::fcntl::{FcntlArg, fcntl};
use nix::sys::signal::Signal;

use super::SupervisorError;
use super::socket::private;

/// The exit code of a worker that could not start serving (bad settings, a database that does
/// not open). A master whose workers never became ready stops when it sees it, instead of
/// restarting them forever.
pub const BOOT_FAILED: u8 = 3;

/// What a worker inherited from its master: the listening socket and its readiness pipe.
#[derive(Debug)]
pub struct Inherited {
    listener: std::net::TcpListener,
    ready: OwnedFd,
}

impl Inherited {
    /// Takes ownership of the descriptors numbered in [`env::LISTEN_FD`](super::env::LISTEN_FD)
    /// and [`env::READY_FD`](super::env::READY_FD). Call it once, early, before anything else
    /// opens files; both become close-on-exec again.
    pub fn from_raw_fds(listen_fd: RawFd, ready_fd: RawFd) -> Result<Self, SupervisorError> {
        let (listener, ready) = (own(listen_fd, "listen")?, own(ready_fd, "ready")?);
        private(&listener, "the listening socket")?;
        private(&ready, "the readiness pipe")?;
        let listener = std::net::TcpListener::from(listener);
        let not_a_socket = |source| SupervisorError::Inherited {
            what: "listen",
            fd: listen_fd,
            source,
        };
        listener.local_addr().map_err(not_a_socket)?;
        // Tokio needs a non-blocking socket; it is shared, so this sets it for every worker.
        listener.set_nonblocking(true).map_err(not_a_socket)?;
        Ok(Self { listener, ready })
    }

    /// The listener, registered with the current tokio runtime, and the readiness pipe to
    /// signal once it accepts.
    pub fn into_parts(self) -> std::io::Result<(tokio::net::TcpListener, ReadyPipe)> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        Ok((listener, ReadyPipe(self.ready)))
    }
}

/// Checks that `fd` is open, then owns it.
fn own(fd: RawFd, what: &'static str) -> Result<OwnedFd, SupervisorError> {
    if fd <= 2 {
        return Err(SupervisorError::Inherited {
            what,
            fd,
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        });
    }
    #[allow(unsafe_code)]
    // SAFETY: `fd` is a descriptor number the master passed in the environment; F_GETFD on a
    // borrowed raw number only checks that it is open. Nothing else in this process owns it:
    // it was inherited across exec and no `OwnedFd`/`File` was created for it before; this
    // is the only place that takes it, and it is called once, at start.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_GETFD).map_err(|errno| SupervisorError::Inherited {
        what,
        fd,
        source: std::io::Error::from(errno),
    })?;
    #[allow(unsafe_code)]
    // SAFETY: as above: `fd` is open (just checked) and owned by no one else in this process.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The write end of the readiness pipe.
#[derive(Debug)]
pub struct ReadyPipe(OwnedFd);

impl ReadyPipe {
    /// Tells the master this worker accepts connections (one byte, then close).
    pub fn notify(self) -> std::io::Result<()> {
        std::fs::File::from(self.0).write_all(b"R")
    }
}

/// Asks the kernel to send this process SIGTERM when its parent (the master) dies, so a
/// master killed with SIGKILL leaves no worker behind: each drains and exits on its own.
pub fn follow_master() -> Result<(), SupervisorError> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(|source| SupervisorError::Fd {
        what: "the parent-death signal",
        source,
    })
}

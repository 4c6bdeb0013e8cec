//! The readiness pipe: how a worker tells its master "I am accepting".
//!
//! Polling `GET /healthz` cannot tell workers apart (they share one socket), so each worker
//! inherits the write end of its own pipe and writes one byte once its accept loop runs. The
//! master reads one byte: ready. It reads end-of-file instead when the worker died first.

use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

use super::SupervisorError;
use super::socket::inheritable;

/// A new pipe: (the master's read end, the write end for the next spawned worker).
///
/// The read end is close-on-exec; the write end is not, so spawn the worker right away and drop
/// the master's copy of the write end afterwards.
pub(crate) fn ready_pipe() -> Result<(OwnedFd, OwnedFd), SupervisorError> {
    let fail = |source| SupervisorError::Fd {
        what: "the readiness pipe",
        source,
    };
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(fail)?;
    inheritable(&write, "the readiness pipe")?;
    Ok((read, write))
}

/// Resolves `true` when the worker wrote its byte, `false` when it closed the pipe (or died)
/// without writing. Runs inside a tokio runtime.
pub(crate) async fn wait_ready(read: OwnedFd) -> bool {
    let Ok(mut receiver) = pipe::Receiver::from_owned_fd(read) else {
        return false;
    };
    let mut byte = [0u8; 1];
    matches!(receiver.read(&mut byte).await, Ok(1))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[tokio::test]
    async fn one_byte_is_ready_and_a_closed_pipe_is_not() {
        let (read, write) = ready_pipe().unwrap();
        std::fs::File::from(write).write_all(b"R").unwrap();
        assert!(wait_ready(read).await);

        let (read, write) = ready_pipe().unwrap();
        drop(write);
        assert!(!wait_ready(read).await);
    }
}

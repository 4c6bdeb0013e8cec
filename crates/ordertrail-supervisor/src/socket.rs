//! The listening socket: bound once by the master, inherited by every worker.
//!
//! Every worker accepts from the same socket, so the kernel keeps one accept queue and hands
//! each new connection to whichever worker calls `accept` first. A worker that stops accepting
//! leaves queued connections to the others, which is what makes restarts lossless.

use std::net::SocketAddr;
use std::os::fd::AsFd;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

use super::SupervisorError;

/// Connections the kernel queues before workers accept them.
const BACKLOG: u32 = 1024;

/// Binds `addr` and lets children inherit the socket (its close-on-exec flag is cleared).
///
/// Call it inside a tokio runtime (the socket is set up through tokio, then detached from it).
pub fn bind_inheritable(addr: SocketAddr) -> Result<std::net::TcpListener, SupervisorError> {
    let bind = |source| SupervisorError::Bind { addr, source };
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(bind)?;
    socket.set_reuseaddr(true).map_err(bind)?;
    socket.bind(addr).map_err(bind)?;
    let listener = socket
        .listen(BACKLOG)
        .map_err(bind)?
        .into_std()
        .map_err(bind)?;
    inheritable(&listener, "the listening socket")?;
    Ok(listener)
}

/// Clears close-on-exec on `fd`, so processes spawned afterwards inherit it.
pub(crate) fn inheritable(fd: impl AsFd, what: &'static str) -> Result<(), SupervisorError> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))
        .map(drop)
        .map_err(|source| SupervisorError::Fd { what, source })
}

/// Sets close-on-exec on `fd`: nothing this process spawns later inherits it.
pub(crate) fn private(fd: impl AsFd, what: &'static str) -> Result<(), SupervisorError> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map(drop)
        .map_err(|source| SupervisorError::Fd { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_port_is_a_bind_error_naming_the_address() {
        let first = bind_inheritable("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let err = bind_inheritable(addr).unwrap_err();
        assert!(matches!(err, SupervisorError::Bind { addr: a, .. } if a == addr));
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }

    #[tokio::test]
    async fn the_socket_is_inherited_by_children() {
        let listener = bind_inheritable("127.0.0.1:0".parse().unwrap()).unwrap();
        let flags = fcntl(&listener, FcntlArg::F_GETFD).unwrap();
        assert_eq!(FdFlag::from_bits_truncate(flags), FdFlag::empty());
    }
}

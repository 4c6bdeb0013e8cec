//! The signals a master obeys, as gunicorn defines them.
//!
//! | signal | master does |
//! |---|---|
//! | SIGTERM, SIGINT | graceful stop: SIGTERM to every worker, SIGKILL after the stop timeout |
//! | SIGHUP | rolling restart: one worker at a time, the new one accepting before the old drains |
//! | SIGTTIN | one more worker |
//! | SIGTTOU | one fewer worker (never fewer than one) |
//!
//! A second stop signal while the workers drain kills them at once. A parent that forwards
//! its own stop signal to a master should therefore start it in a process group of its own,
//! as `ordertrail up` does: otherwise Ctrl-C at the terminal reaches the master twice, once
//! from the terminal and once from the parent.

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::SupervisorError;

/// What a signal asks the master to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// SIGTERM or SIGINT.
    Stop(&'static str),
    /// SIGHUP.
    Reload,
    /// SIGTTIN.
    Grow,
    /// SIGTTOU.
    Shrink,
}

/// The master's signal handlers, installed once.
#[derive(Debug)]
pub(crate) struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    ttin: Signal,
    ttou: Signal,
}

impl Signals {
    /// Installs the handlers (inside a tokio runtime). From then on these signals no longer
    /// have their default effect on this process.
    pub(crate) fn install() -> Result<Self, SupervisorError> {
        let on = |kind| signal(kind).map_err(SupervisorError::Signals);
        Ok(Self {
            term: on(SignalKind::terminate())?,
            int: on(SignalKind::interrupt())?,
            hup: on(SignalKind::hangup())?,
            ttin: on(SignalKind::from_raw(nix::libc::SIGTTIN))?,
            ttou: on(SignalKind::from_raw(nix::libc::SIGTTOU))?,
        })
    }

    /// The next signal. Cancel-safe: a signal not taken now is taken by the next call.
    pub(crate) async fn recv(&mut self) -> Control {
        tokio::select! {
            _ = self.term.recv() => Control::Stop("SIGTERM"),
            _ = self.int.recv() => Control::Stop("SIGINT"),
            _ = self.hup.recv() => Control::Reload,
            _ = self.ttin.recv() => Control::Grow,
            _ = self.ttou.recv() => Control::Shrink,
        }
    }
}

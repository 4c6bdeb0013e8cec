//! [`Master`]: starts N workers, restarts those that die, and obeys signals. It never serves a
//! request itself; it holds the listening socket only to hand it down.
//!
//! Everything happens on one task: signals, worker events (ready, exited) from one watch task
//! per worker, and timers (due restarts, a replacement's readiness deadline) are taken in turn
//! by one `select!`, so the state needs no lock.

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsFd;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::{Instant, sleep_until};

use super::SupervisorError;
use super::backoff::Backoff;
use super::signals::{Control, Signals};
use super::spawn::{Event, WorkerCommand, spawn_worker};
use super::worker::BOOT_FAILED;

/// Deaths in a row after which a worker slot is reported as crash-looping.
const CRASH_LOOP: u32 = 3;

/// How long killed workers may take to be reaped.
const REAP_WITHIN: Duration = Duration::from_secs(5);

/// What a master needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MasterConfig {
    /// Workers to run at start (at least one).
    pub workers: usize,
    /// How to start one.
    pub command: WorkerCommand,
    /// How long workers may drain after SIGTERM before they are killed.
    pub stop_timeout: Duration,
    /// How long a replacement may take to accept during a rolling restart.
    pub ready_timeout: Duration,
    /// Restart delays of each worker slot.
    pub backoff: Backoff,
}

impl MasterConfig {
    /// `workers` workers; stop timeout 15 s, readiness timeout 30 s, default backoff.
    pub fn new(workers: usize, command: WorkerCommand) -> Self {
        Self {
            workers: workers.max(1),
            command,
            stop_timeout: Duration::from_secs(15),
            ready_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
        }
    }

    /// Sets how long workers may drain after SIGTERM before they are killed.
    #[must_use]
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// Sets how long a replacement may take to accept during a rolling restart.
    #[must_use]
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Sets the restart delays of each worker slot.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Workers still running at the stop timeout, killed with SIGKILL.
    pub killed: usize,
    /// Workers that exited with a failure status while stopping.
    pub failed: usize,
}

impl Stopped {
    /// Every worker drained and exited successfully.
    pub const fn is_clean(&self) -> bool {
        self.killed == 0 && self.failed == 0
    }
}

/// One worker process.
#[derive(Debug)]
struct Worker {
    index: usize,
    pid: u32,
    started: Instant,
    ready: bool,
    /// Told to stop; not restarted when it exits.
    retiring: bool,
}

/// The step of a rolling restart under way: `new_pid` boots to take over from `old_pid`.
#[derive(Debug)]
struct Replacement {
    index: usize,
    new_pid: u32,
    old_pid: u32,
    deadline: Instant,
}

/// The master process's supervisor. See the [module docs](super).
#[derive(Debug)]
pub struct Master {
    config: MasterConfig,
    listener: std::net::TcpListener,
    workers: Vec<Worker>,
    desired: usize,
    backoff: Vec<Backoff>,
    restarts: Vec<(Instant, usize)>,
    rolling: Option<VecDeque<usize>>,
    replacing: Option<Replacement>,
    all_ready_once: bool,
    events: UnboundedSender<Event>,
    inbox: UnboundedReceiver<Event>,
}

impl Master {
    /// A master for `listener` (from [`bind_inheritable`](super::bind_inheritable)).
    pub fn new(config: MasterConfig, listener: std::net::TcpListener) -> Self {
        let (events, inbox) = unbounded_channel();
        Self {
            desired: config.workers,
            config,
            listener,
            workers: Vec::new(),
            backoff: Vec::new(),
            restarts: Vec::new(),
            rolling: None,
            replacing: None,
            all_ready_once: false,
            events,
            inbox,
        }
    }

    /// Starts the workers and supervises them until SIGTERM or SIGINT; returns once every
    /// worker is gone. Fails when signals cannot be installed, the first workers cannot be
    /// spawned, or they all fail to boot ([`BOOT_FAILED`]).
    pub async fn run(mut self) -> Result<Stopped, SupervisorError> {
        let mut signals = Signals::install()?;
        for index in 0..self.desired {
            self.start(index)?;
        }
        loop {
            let wake = self.next_wake();
            tokio::select! {
                control = signals.recv() => match control {
                    Control::Stop(signal) => {
                        tracing::info!(signal, "stop signal: draining every worker");
                        return Ok(self.stop(&mut signals).await);
                    }
                    Control::Reload => self.begin_rolling(),
                    Control::Grow => self.grow(),
                    Control::Shrink => self.shrink(),
                },
                Some(event) = self.inbox.recv() => match event {
                    Event::Ready { pid } => self.on_ready(pid),
                    Event::Exited { pid, status } => {
                        if let Some(index) = self.on_exit(pid, &status) {
                            self.stop(&mut signals).await;
                            return Err(SupervisorError::BootFailed { index, status: describe(&status) });
                        }
                    }
                },
                () = sleep_until(wake) => self.on_timer(),
            }
        }
    }

    /// Spawns worker `index`; returns its pid.
    fn start(&mut self, index: usize) -> Result<u32, SupervisorError> {
        let pid = spawn_worker(
            &self.config.command,
            index,
            self.listener.as_fd(),
            self.events.clone(),
        )?;
        tracing::info!(worker = index, worker_pid = pid, "worker started");
        self.workers.push(Worker {
            index,
            pid,
            started: Instant::now(),
            ready: false,
            retiring: false,
        });
        Ok(pid)
    }

    /// Spawns worker `index`, or schedules another attempt when spawning fails.
    fn start_or_retry(&mut self, index: usize) {
        if let Err(err) = self.start(index) {
            tracing::error!(worker = index, error = %err, "cannot start a worker");
            self.schedule_restart(index, Duration::ZERO);
        }
    }

    fn on_ready(&mut self, pid: u32) {
        let Some(worker) = self.workers.iter_mut().find(|w| w.pid == pid) else {
            return;
        };
        worker.ready = true;
        let index = worker.index;
        tracing::info!(worker = index, worker_pid = pid, "worker ready");
        if !self.all_ready_once && self.workers.iter().filter(|w| w.ready).count() >= self.desired {
            self.all_ready_once = true;
            tracing::info!(workers = self.desired, "all workers accepting");
        }
        if self.replacing.as_ref().is_some_and(|r| r.new_pid == pid) {
            self.finish_replacement();
        }
    }

    /// Handles a worker's exit; returns its index when it failed to boot and no worker ever
    /// became ready (the master must stop).
    fn on_exit(&mut self, pid: u32, status: &io::Result<ExitStatus>) -> Option<usize> {
        let position = self.workers.iter().position(|w| w.pid == pid)?;
        let worker = self.workers.swap_remove(position);
        let (index, status_text) = (worker.index, describe(status));
        if worker.retiring {
            tracing::info!(worker = index, worker_pid = pid, status = %status_text, "worker drained");
            return None;
        }
        let uptime = worker.started.elapsed();
        tracing::warn!(
            worker = index,
            worker_pid = pid,
            status = %status_text,
            uptime_ms = uptime.as_millis() as u64,
            "worker exited"
        );
        if self.replacing.as_ref().is_some_and(|r| r.new_pid == pid) {
            tracing::warn!(
                worker = index,
                "the replacement died before accepting: rolling restart abandoned"
            );
            self.abandon_rolling();
            return None;
        }
        let boot_failed =
            status.as_ref().ok().and_then(ExitStatus::code) == Some(BOOT_FAILED.into());
        if boot_failed && !self.all_ready_once {
            tracing::error!(
                worker = index,
                "a worker failed to boot before any was ready: stopping"
            );
            return Some(index);
        }
        if index < self.desired && !self.occupied(index) {
            self.schedule_restart(index, uptime);
        }
        None
    }

    fn schedule_restart(&mut self, index: usize, uptime: Duration) {
        if self.backoff.len() <= index {
            self.backoff.resize(index + 1, self.config.backoff);
        }
        let backoff = &mut self.backoff[index];
        let delay = backoff.next_delay(uptime);
        let (failures, delay_ms) = (backoff.failures(), delay.as_millis() as u64);
        if failures >= CRASH_LOOP {
            tracing::warn!(
                worker = index,
                failures,
                delay_ms,
                "worker is crash-looping: restarts are throttled"
            );
        } else {
            tracing::info!(worker = index, delay_ms, "worker restarting");
        }
        self.restarts.push((Instant::now() + delay, index));
    }

    /// A live worker that is not retiring, or a pending restart, holds slot `index`.
    fn occupied(&self, index: usize) -> bool {
        self.workers.iter().any(|w| w.index == index && !w.retiring)
            || self.restarts.iter().any(|&(_, i)| i == index)
    }

    fn next_wake(&self) -> Instant {
        let restart = self.restarts.iter().map(|&(at, _)| at).min();
        let deadline = self.replacing.as_ref().map(|r| r.deadline);
        restart
            .into_iter()
            .chain(deadline)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        let (due, later) = self.restarts.drain(..).partition(|&(at, _)| at <= now);
        self.restarts = later;
        for (_, index) in due {
            if index < self.desired && !self.occupied(index) {
                self.start_or_retry(index);
            }
        }
        if let Some(r) = self.replacing.as_ref().filter(|r| r.deadline <= now) {
            tracing::warn!(
                worker = r.index,
                worker_pid = r.new_pid,
                "the replacement did not accept in time: rolling restart abandoned"
            );
            let new_pid = r.new_pid;
            self.retire(new_pid, Signal::SIGKILL);
            self.abandon_rolling();
        }
    }

    fn begin_rolling(&mut self) {
        if self.rolling.is_some() {
            tracing::info!("SIGHUP: a rolling restart is already under way");
            return;
        }
        let mut indices: Vec<usize> = self.live().map(|w| w.index).collect();
        indices.sort_unstable();
        indices.dedup();
        tracing::info!(workers = indices.len(), "SIGHUP: rolling restart");
        self.rolling = Some(indices.into());
        self.next_replacement();
    }

    /// Starts the next replacement, or finishes the rolling restart.
    fn next_replacement(&mut self) {
        while let Some(index) = self.rolling.as_mut().and_then(VecDeque::pop_front) {
            let Some(old_pid) = self.live().find(|w| w.index == index).map(|w| w.pid) else {
                continue;
            };
            match self.start(index) {
                Ok(new_pid) => {
                    let deadline = Instant::now() + self.config.ready_timeout;
                    self.replacing = Some(Replacement {
                        index,
                        new_pid,
                        old_pid,
                        deadline,
                    });
                }
                Err(err) => {
                    tracing::error!(worker = index, error = %err, "cannot start a replacement: rolling restart abandoned");
                    self.abandon_rolling();
                }
            }
            return;
        }
        if self.rolling.take().is_some() {
            tracing::info!("rolling restart finished");
        }
    }

    /// The replacement accepts: the old worker drains, the next one is replaced.
    fn finish_replacement(&mut self) {
        let Some(r) = self.replacing.take() else {
            return;
        };
        if self.retire(r.old_pid, Signal::SIGTERM) {
            tracing::info!(
                worker = r.index,
                worker_pid = r.old_pid,
                new_pid = r.new_pid,
                "worker replaced: the old one drains"
            );
        }
        self.next_replacement();
    }

    fn abandon_rolling(&mut self) {
        self.rolling = None;
        self.replacing = None;
    }

    fn grow(&mut self) {
        self.desired += 1;
        tracing::info!(workers = self.desired, "SIGTTIN: one more worker");
        if let Some(index) = (0..self.desired).find(|&i| !self.occupied(i)) {
            self.start_or_retry(index);
        }
    }

    fn shrink(&mut self) {
        if self.desired <= 1 {
            tracing::warn!("SIGTTOU ignored: the last worker stays");
            return;
        }
        self.desired -= 1;
        let desired = self.desired;
        tracing::info!(workers = desired, "SIGTTOU: one fewer worker");
        self.restarts.retain(|&(_, i)| i < desired);
        let surplus: Vec<u32> = self
            .live()
            .filter(|w| w.index >= desired)
            .map(|w| w.pid)
            .collect();
        for pid in surplus {
            self.retire(pid, Signal::SIGTERM);
        }
        if let Some(rolling) = self.rolling.as_mut() {
            rolling.retain(|&i| i < desired);
        }
        if self.replacing.as_ref().is_some_and(|r| r.index >= desired) {
            self.replacing = None;
            self.next_replacement();
        }
    }

    /// SIGTERM to every worker, SIGKILL to those left at the stop timeout (or at a second stop
    /// signal); returns once all are reaped.
    async fn stop(&mut self, signals: &mut Signals) -> Stopped {
        self.restarts.clear();
        self.abandon_rolling();
        let pids: Vec<u32> = self.workers.iter().map(|w| w.pid).collect();
        for pid in pids {
            self.retire(pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + self.config.stop_timeout;
        let mut failed = 0;
        while !self.workers.is_empty() {
            tokio::select! {
                Some(event) = self.inbox.recv() => failed += usize::from(!self.reaped(event)),
                control = signals.recv() => if matches!(control, Control::Stop(_)) {
                    tracing::warn!("second stop signal: killing the workers");
                    break;
                },
                () = sleep_until(deadline) => {
                    tracing::warn!(timeout_ms = self.config.stop_timeout.as_millis() as u64, "workers did not stop in time: killing them");
                    break;
                }
            }
        }
        let killed = self.workers.len();
        self.kill_remaining().await;
        tracing::info!(killed, failed, "master stopped");
        Stopped { killed, failed }
    }

    /// Records a stopping worker's exit; false when it exited with a failure status.
    fn reaped(&mut self, event: Event) -> bool {
        let Event::Exited { pid, status } = event else {
            return true;
        };
        let Some(position) = self.workers.iter().position(|w| w.pid == pid) else {
            return true;
        };
        let worker = self.workers.swap_remove(position);
        tracing::info!(worker = worker.index, worker_pid = pid, status = %describe(&status), "worker stopped");
        status.is_ok_and(|s| s.success())
    }

    async fn kill_remaining(&mut self) {
        let pids: Vec<u32> = self.workers.iter().map(|w| w.pid).collect();
        for pid in pids {
            self.retire(pid, Signal::SIGKILL);
        }
        let deadline = Instant::now() + REAP_WITHIN;
        while !self.workers.is_empty() {
            tokio::select! {
                Some(event) = self.inbox.recv() => { self.reaped(event); }
                () = sleep_until(deadline) => break,
            }
        }
    }

    /// Marks the worker `pid` as retiring and sends it `signal`; false if it is gone.
    fn retire(&mut self, pid: u32, signal: Signal) -> bool {
        let Some(worker) = self.workers.iter_mut().find(|w| w.pid == pid) else {
            return false;
        };
        worker.retiring = true;
        // Only pids of children not yet reaped get here, so the pid is still theirs.
        match i32::try_from(pid) {
            Ok(raw) if raw > 0 => {
                if let Err(err) = kill(Pid::from_raw(raw), signal) {
                    tracing::warn!(worker = worker.index, worker_pid = pid, %signal, error = %err, "cannot signal a worker");
                }
            }
            _ => {}
        }
        true
    }

    /// Workers not told to stop.
    fn live(&self) -> impl Iterator<Item = &Worker> {
        self.workers.iter().filter(|w| !w.retiring)
    }
}

/// `exit status: 0`, `signal: 9 (SIGKILL)`, or why the status is unknown.
fn describe(status: &io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(err) => format!("unknown ({err})"),
    }
}

//! `stop`, `restart`, `kill`, `rm`, `wait`, `container prune`.

use std::time::{Duration, Instant};

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use wharf_model::{ContainerRecord, Status};
use wharf_runtime::monitor::{pidfd_open, ContainerDir};
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

const POLL: Duration = Duration::from_millis(5);
/// How often a stop looks in its first [`QUICK_STOP`] (one store read,
/// ~30 µs, each time).
const QUICK_POLL: Duration = Duration::from_millis(1);
const QUICK_STOP: Duration = Duration::from_millis(250);
/// How long after the container's death a stop looks closely for the
/// monitor's record of it, and how often.
const RECORDING: Duration = Duration::from_millis(50);
const RECORDING_POLL: Duration = Duration::from_micros(100);

/// Empty a non-blocking wake-up pipe.
fn drain(fd: BorrowedFd<'_>) {
    let mut buf = [0u8; 64];
    while matches!(nix::unistd::read(fd.as_raw_fd(), &mut buf), Ok(n) if n > 0) {}
}

/// What `wait` waits for (the API's `condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Stopped (now, if it is not running): docker's default.
    NotRunning,
    /// The exit after this call (a created container's first).
    NextExit,
    /// Its record is gone.
    Removed,
}

/// How a [`Engine::wait_condition`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// It exited with this code.
    Exited(i32),
    /// Its record went (`--rm`) before its exit could be seen: the
    /// monitor's own exit code is the container's.
    Gone,
    Cancelled,
}

impl WaitCondition {
    pub fn parse(s: &str) -> EngineResult<WaitCondition> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(EngineError::Invalid(format!(
                "invalid condition: \"{other}\""
            ))),
        }
    }
}

/// A stop prepared by [`Engine::prepare_stop`]: the container's monitor
/// told that the exit to come is asked for, the signal chosen.
#[derive(Debug)]
pub struct Stopping {
    container: ContainerRecord,
    signal: Signal,
    /// SIGKILL after this long; `None`: wait for as long as it takes.
    limit: Option<Duration>,
}

/// What `container prune` removed.
#[derive(Debug, Default)]
pub struct ContainerPruneReport {
    pub deleted: Vec<String>,
    pub reclaimed: u64,
}

/// `SIGTERM`, `TERM`, `15` → the signal.
pub fn parse_signal(s: &str) -> EngineResult<Signal> {
    let bad = || EngineError::Invalid(format!("Invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

/// Tell the monitor to remove the container at the exit a `stop` is
/// about to cause (with its anonymous volumes if `volumes`), as it removes
/// a `--rm` one: the stop then waits for the rows to go, not for the
/// teardown. (`rm -f` does not: docker's `rm -f` returns with the
/// container's files gone, its logs too.)
fn mark_remove_requested(engine: &Engine, id: &str, volumes: bool) -> EngineResult<()> {
    let marker = ContainerDir::new(engine.store.root(), id).remove_requested();
    let said: &[u8] = if volumes { b"volumes" } else { b"" };
    std::fs::write(&marker, said)
        .map_err(|e| EngineError::io(format!("writing {}", marker.display()), e))
}

/// Tell the monitor that this exit is the user's doing: no restart.
fn mark_stop_requested(engine: &Engine, id: &str) -> EngineResult<()> {
    let marker = ContainerDir::new(engine.store.root(), id).stop_requested();
    std::fs::write(&marker, b"")
        .map_err(|e| EngineError::io(format!("writing {}", marker.display()), e))
}

impl Engine {
    fn still_running(&self, id: &str) -> EngineResult<bool> {
        let c = self.store.read(|tx| containers::get(tx, id))?;
        match c {
            Some(c) => Ok(self.refresh(c)?.state.status.is_running()),
            None => Ok(false),
        }
    }

    /// Wait until the monitor has recorded the exit (or removed the row).
    fn wait_stopped(&self, id: &str, timeout: Option<Duration>) -> EngineResult<bool> {
        let start = Instant::now();
        // Woken at once when the container's process dies, or when the
        // monitor exits; then the exit's record follows within a
        // millisecond or two (after the network's release): looked for
        // closely. Else every POLL to look at the record. (Not inotify on
        // the store: closing an inotify instance waits out an SRCU grace
        // period, 10-20 ms here.)
        let rec = self.store.read(|tx| containers::get(tx, id))?;
        let state = rec.map(|c| c.state);
        let open = |pid: Option<i32>| pid.and_then(pidfd_open);
        let monitor = open(state.as_ref().and_then(|s| s.monitor_pid));
        let mut container = open(state.as_ref().and_then(|s| s.pid));
        let mut died: Option<Instant> = None;
        while self.still_running(id)? {
            if timeout.is_some_and(|t| start.elapsed() >= t) {
                return Ok(false);
            }
            if died.is_some_and(|d| d.elapsed() < RECORDING) {
                std::thread::sleep(RECORDING_POLL);
                continue;
            }
            // A monitor that removes the container at its exit lives on
            // after the rows go: look often at first, when most stops end.
            let every = if start.elapsed() < QUICK_STOP {
                QUICK_POLL
            } else {
                POLL
            };
            let mut fds: Vec<PollFd> = [&container, &monitor]
                .into_iter()
                .flatten()
                .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
                .collect();
            if fds.is_empty() {
                std::thread::sleep(every);
                continue;
            }
            let _ = poll(&mut fds, PollTimeout::from(every.as_millis() as u16));
            let dead = container.is_some()
                && fds
                    .first()
                    .and_then(|p| p.revents())
                    .is_some_and(|r| !r.is_empty());
            drop(fds);
            if dead {
                // Restarted by its policy, it is another process: polled.
                container = None;
                died = Some(Instant::now());
            }
        }
        Ok(true)
    }

    /// SIGKILL the container until it has stopped. One waiting out its
    /// restart back-off has no process to signal, and its monitor may
    /// start it again before it sees the stop request: whatever runs then
    /// is killed too. One `kill` event, as docker gives (its direct SIGKILL
    /// when the first did not end it in time has none): a loaded host may
    /// take more than 500 ms to end it.
    fn kill_until_stopped(&self, id: &str) -> EngineResult<()> {
        let mut first = true;
        loop {
            let Some(c) = self.store.read(|tx| containers::get(tx, id))? else {
                return Ok(());
            };
            let c = self.refresh(c)?;
            if !c.state.status.is_running() {
                return Ok(());
            }
            match first {
                true => self.signal(&c, Signal::SIGKILL)?,
                false => self.deliver(&c, Signal::SIGKILL)?,
            }
            first = false;
            if self.wait_stopped(id, Some(Duration::from_millis(500)))? {
                return Ok(());
            }
        }
    }

    /// Send `sig` to the container (docker's `kill` event first).
    fn signal(&self, c: &ContainerRecord, sig: Signal) -> EngineResult<()> {
        self.container_event(&c.id, "kill", &[("signal", (sig as i32).to_string())])?;
        self.deliver(c, sig)
    }

    /// [`Engine::signal`] without the event.
    fn deliver(&self, c: &ContainerRecord, sig: Signal) -> EngineResult<()> {
        if c.state.status == Status::Paused {
            // A frozen process cannot act on a signal: thaw it first, as docker does.
            let dir = ContainerDir::new(self.store.root(), &c.id);
            let _ =
                super::manage::with_container(&dir, |lc| lc.resume().map_err(|e| e.to_string()));
            self.store
                .write(|tx| containers::set_paused(tx, &c.id, false))?;
        }
        if let Some(pid) = c.state.pid {
            match kill(Pid::from_raw(pid), sig) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => {
                    return Err(EngineError::io(
                        format!("signalling container {}", c.id),
                        e.into(),
                    ))
                }
            }
        }
        Ok(())
    }

    /// `docker stop [-t N] [-s SIG]`: the stop signal, then SIGKILL after the timeout.
    pub fn stop_container(
        &self,
        name: &str,
        timeout: Option<u64>,
        signal: Option<&str>,
    ) -> EngineResult<()> {
        self.stop_then(name, timeout, signal, None)
    }

    /// [`Engine::stop_container`]; `removal`: see [`Engine::prepare_stop`].
    fn stop_then(
        &self,
        name: &str,
        timeout: Option<u64>,
        signal: Option<&str>,
        removal: Option<bool>,
    ) -> EngineResult<()> {
        let Some(stop) = self.prepare_stop(name, timeout, signal, removal)? else {
            return Ok(());
        };
        for delivered in self.signal_stops(&[&stop])? {
            delivered?;
        }
        self.finish_stop(stop)
    }

    /// Stop requests for containers to be stopped together: each prepared
    /// (`None`: not running) and then all signalled at once by
    /// [`Engine::signal_stops`], each waited for by [`Engine::finish_stop`].
    /// Compose's `down` stops a service's replicas this way: one write
    /// for all their `kill` events rather than one each (serialized by the
    /// store, ~0.3 ms apiece before the last one's signal).
    ///
    /// `removal`: a `stop` that a `rm` follows (Compose's `down`). The
    /// monitor removes the container when it exits (with its anonymous
    /// volumes if `Some(true)`), so the stop ends once its rows are gone
    /// rather than after its teardown, and the `rm` finds nothing left to
    /// do. The events are those of the two verbs.
    pub fn prepare_stop(
        &self,
        name: &str,
        timeout: Option<u64>,
        signal: Option<&str>,
        removal: Option<bool>,
    ) -> EngineResult<Option<Stopping>> {
        let c = self.refresh(self.find_container(name)?)?;
        if !c.state.status.is_running() {
            return Ok(None);
        }
        let configured = Some(c.config().stop_signal.clone()).filter(|s| !s.is_empty());
        let sig = parse_signal(
            signal
                .map(str::to_string)
                .or(configured)
                .as_deref()
                .unwrap_or("SIGTERM"),
        )?;
        if let Some(volumes) = removal {
            mark_remove_requested(self, &c.id, volumes)?;
        }
        mark_stop_requested(self, &c.id)?;
        // `-t`, else the container's `--stop-timeout`, else docker's 10 s;
        // a negative one waits for as long as it takes.
        let secs = timeout
            .map(|t| t as i64)
            .or(c.config().stop_timeout)
            .unwrap_or(10);
        let limit = u64::try_from(secs).ok().map(Duration::from_secs);
        Ok(Some(Stopping {
            container: c,
            signal: sig,
            limit,
        }))
    }

    /// Signal prepared stops: their `kill` events in one write (before
    /// the signals, so that each comes before its container's `die`), then
    /// each its signal; whether each was delivered, in their order.
    pub fn signal_stops(&self, stops: &[&Stopping]) -> EngineResult<Vec<EngineResult<()>>> {
        if stops.is_empty() {
            return Ok(Vec::new());
        }
        self.store.write(|tx| {
            for s in stops {
                let signal = [("signal", (s.signal as i32).to_string())];
                wharf_store::events::container(tx, &s.container.id, "kill", &signal)?;
            }
            Ok(())
        })?;
        Ok(stops
            .iter()
            .map(|s| {
                let delivered = self.deliver(&s.container, s.signal);
                wharf_runtime::timeline::mark("stop: signalled");
                delivered
            })
            .collect())
    }

    /// Wait for a signalled stop to end (its exit recorded, or for a
    /// removal its rows gone), SIGKILL after its limit.
    pub fn finish_stop(&self, stop: Stopping) -> EngineResult<()> {
        let id = &stop.container.id;
        if !self.wait_stopped(id, stop.limit)? {
            self.kill_until_stopped(id)?;
        }
        wharf_runtime::timeline::mark("stop: stopped");
        self.container_event(id, "stop", &[])
    }

    /// `docker restart [-t N] [-s SIG]`: stop as `stop` does, then start;
    /// a container that is not running is just started. As in docker
    /// 20.10, a `--rm` container survives its restart, and the restart
    /// count starts again from 0 (as at any start by a user).
    pub fn restart_container(
        &self,
        name: &str,
        timeout: Option<u64>,
        signal: Option<&str>,
    ) -> EngineResult<String> {
        Ok(self.restart_container_started(name, timeout, signal)?.id)
    }

    /// [`Engine::restart_container`], with the new monitor handed back
    /// (the API server reaps it).
    pub fn restart_container_started(
        &self,
        name: &str,
        timeout: Option<u64>,
        signal: Option<&str>,
    ) -> EngineResult<super::StartOutcome> {
        let c = self.refresh(self.find_container(name)?)?;
        let keep = ContainerDir::new(self.store.root(), &c.id).restart_requested();
        let auto_remove = c.definition.host_config.auto_remove && c.state.status.is_running();
        if auto_remove {
            std::fs::write(&keep, b"")
                .map_err(|e| EngineError::io(format!("writing {}", keep.display()), e))?;
        }
        let restarted = self
            .stop_container(&c.id, timeout, signal)
            .and_then(|()| self.start_container(&c.id, None));
        if auto_remove {
            let _ = std::fs::remove_file(&keep);
        }
        let started = restarted?;
        self.container_event(&started.id, "restart", &[])?;
        Ok(started)
    }

    /// `docker container prune`: remove the stopped containers `select`
    /// picks; their IDs, and the bytes their writable layers held.
    pub fn prune_containers(
        &self,
        select: impl Fn(&super::ContainerSummary) -> bool,
    ) -> EngineResult<ContainerPruneReport> {
        let mut report = ContainerPruneReport::default();
        for c in self.list_containers(true)? {
            if c.status.is_running() || !select(&c) {
                continue;
            }
            let size =
                crate::volumes::tree_size(&ContainerDir::new(self.store.root(), &c.id).upper());
            // One that started meanwhile is left alone, as docker's prune does.
            if self.remove_container(&c.id, false, false).is_ok() {
                report.reclaimed += size;
                report.deleted.push(c.id);
            }
        }
        self.record_prune(wharf_model::EventType::Container, report.reclaimed)?;
        Ok(report)
    }

    /// `docker kill [-s SIG]`.
    pub fn kill_container(&self, name: &str, signal: Option<&str>) -> EngineResult<String> {
        let c = self.refresh(self.find_container(name)?)?;
        if !c.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "Cannot kill container: {name}: Container {} is not running",
                c.id
            )));
        }
        self.signal(&c, parse_signal(signal.unwrap_or("KILL"))?)?;
        Ok(c.id)
    }

    /// `docker rm [-f] [-v]`; `volumes`: also the anonymous volumes only
    /// this container uses.
    pub fn remove_container(&self, name: &str, force: bool, volumes: bool) -> EngineResult<String> {
        let c = self.refresh(self.find_container(name)?)?;
        if c.state.status.is_running() {
            if !force {
                return Err(EngineError::Conflict(format!(
                    "You cannot remove a running container {}. Stop the container before attempting removal or force remove",
                    c.id
                )));
            }
            mark_stop_requested(self, &c.id)?;
            self.kill_until_stopped(&c.id)?;
        }
        // `removing` while it is taken apart (it may have exited on its own
        // meanwhile: re-read).
        let marked = self
            .store
            .write(|tx| containers::transition(tx, &c.id, Status::Removing, |_| {}).map(|_| ()));
        match marked {
            // A `--rm` container's monitor removed it meanwhile.
            Err(wharf_store::StoreError::NotFound(_)) => return Ok(c.id),
            other => other?,
        }
        // Marked `removing`, nothing taken apart yet.
        wharf_failpoint::hit("rm-after-mark");
        // A monitor may still be at work in the directory about to go: the
        // last run's, taking its rootfs and cgroups apart after recording
        // the exit, or (`run` beside `container prune`) one starting the
        // created container, which the mark makes fail and undo what it
        // made. One that has yet to take its lock reads the mark after
        // (see `monitor::lifetime`).
        wharf_runtime::timeline::mark("rm: marked");
        let dir = ContainerDir::new(self.store.root(), &c.id);
        wharf_runtime::monitor::lifetime::wait_gone(&dir);
        wharf_runtime::timeline::mark("rm: no monitor");
        self.release_network(&c.id)?;
        wharf_runtime::timeline::mark("rm: network released");
        let trashed = wharf_runtime::monitor::remove(
            &self.store,
            &dir,
            volumes,
            &c.definition.resolved.volume_mounts,
            super::cgroup_parent(&c.definition.host_config),
        );
        wharf_runtime::timeline::mark("rm: rows removed");
        // Gone for every user now; its files go after we return.
        trashed.delete_detached(&self.monitor_exe);
        wharf_runtime::timeline::mark("rm: files handed over");
        Ok(c.id)
    }

    /// Whether the container is running now (false when it is gone).
    pub fn container_running(&self, id: &str) -> bool {
        self.still_running(id).unwrap_or(false)
    }

    /// The container's json-file log.
    pub fn log_path(&self, id: &str) -> std::path::PathBuf {
        ContainerDir::new(self.store.root(), id).log()
    }

    /// `POST /containers/{id}/wait?condition=`: block until `condition`
    /// holds, or `cancelled` says stop (the client went away).
    /// `wake`: readable when the caller has news of the container (it
    /// started or exited through the caller): look again at once instead
    /// of at the next poll.
    pub fn wait_condition(
        &self,
        name: &str,
        condition: WaitCondition,
        cancelled: &dyn Fn() -> bool,
        wake: Option<BorrowedFd<'_>>,
    ) -> EngineResult<Waited> {
        let c = self.refresh(self.find_container(name)?)?;
        let id = c.id;
        let first_finish = c.state.finished_at;
        // The exit code, once an exit has been seen.
        let mut code = c
            .state
            .exit_code
            .filter(|_| c.state.status == Status::Exited);
        let started = Instant::now();
        loop {
            if cancelled() {
                return Ok(Waited::Cancelled);
            }
            let now = self.store.read(|tx| containers::get(tx, &id))?;
            let Some(now) = now.map(|c| self.refresh(c)).transpose()? else {
                // Gone: every condition holds.
                return Ok(code.map_or(Waited::Gone, Waited::Exited));
            };
            let stopped = !now.state.status.is_running();
            // An exit recorded since the call: it counts even when a
            // restart policy has started the container again meanwhile.
            let exited_since = now.state.finished_at != first_finish;
            if exited_since {
                code = now.state.exit_code;
            }
            let code = code.or(now.state.exit_code).unwrap_or(0);
            let done = match condition {
                WaitCondition::NotRunning => stopped || exited_since,
                WaitCondition::NextExit => exited_since,
                WaitCondition::Removed => false,
            };
            if done {
                return Ok(Waited::Exited(code));
            }
            // Closely at first (`run` waits on a short-lived container),
            // then gently.
            let pause = if started.elapsed() < Duration::from_secs(1) {
                POLL
            } else {
                POLL * 10
            };
            let pidfd = now
                .state
                .monitor_pid
                .filter(|_| !stopped)
                .and_then(pidfd_open);
            let mut fds: Vec<PollFd> = pidfd
                .iter()
                .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
                .chain(wake.map(|w| PollFd::new(w, PollFlags::POLLIN)))
                .collect();
            if fds.is_empty() {
                std::thread::sleep(pause);
            } else {
                let _ = poll(&mut fds, PollTimeout::from(pause.as_millis() as u16));
                if let Some(w) = wake {
                    drain(w);
                }
            }
        }
    }

    /// `docker wait`: block until the container stops; its exit code.
    pub fn wait_container(&self, name: &str) -> EngineResult<i32> {
        let c = self.find_container(name)?;
        self.wait_stopped(&c.id, None)?;
        let s = self.store.read(|tx| containers::state(tx, &c.id))?;
        Ok(s.and_then(|s| s.exit_code).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_docker() {
        assert_eq!(parse_signal("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("sighup").unwrap(), Signal::SIGHUP);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert!(parse_signal("NOPE").is_err());
    }
}

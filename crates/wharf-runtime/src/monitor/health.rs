//! Health checks, run by the monitor (docker's `daemon/health.go`).
//!
//! The monitor's loop asks when the next probe is due and polls with that
//! timeout; a container without a health check has no [`Checker`] and
//! costs nothing. Each probe is a helper process (`wharf monitor ID
//! --probe`, see [`super::boundary`]) that does all the work: it execs the
//! test command in the container through the `exec` path (the
//! container's user, working directory and environment), collects its
//! output (docker's first 4096 bytes), kills it at the timeout, and
//! records the result, the status it leads to and docker's
//! `exec_create`/`exec_start`/`exec_die`/`health_status` events in one
//! transaction. The monitor only starts the helper and waits for its
//! exit: it runs no libcontainer, SQLite or JSON code for a probe, so it
//! stays as small as a monitor without one. The helper is a fresh
//! process, not a fork: SQLite's per-process lock bookkeeping must not be
//! inherited from a process that has the database open.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use wharf_model::health::MAX_OUTPUT;
use wharf_model::{Event, EventType, HealthResult, Probe, Status};
use wharf_store::{containers, events, Store};

use super::boundary::MonitorArgs;
use super::layout::ContainerDir;
use crate::exec::ExecRequest;

/// A container's health check, between and during probes.
pub(super) struct Checker<'a> {
    root: &'a Path,
    id: &'a str,
    interval: Duration,
    start_period: Duration,
    /// When the container started (the start period counts from here).
    started: Instant,
    next: Instant,
    /// The helper running a probe, and a descriptor readable once it exits.
    running: Option<(Child, OwnedFd)>,
}

impl<'a> Checker<'a> {
    /// The check of container `id` (with `config`) that started just now;
    /// `None` without one.
    pub fn new(
        root: &'a Path,
        id: &'a str,
        config: &wharf_oci::ContainerConfig,
    ) -> Option<Checker<'a>> {
        let probe = Probe::from_config(config)?;
        let now = Instant::now();
        Some(Checker {
            root,
            id,
            interval: probe.interval,
            start_period: probe.start_period,
            started: now,
            next: now + probe.interval,
            running: None,
        })
    }

    /// Milliseconds until the next probe is due (0: now); `None` while one
    /// runs (its helper's exit wakes the loop).
    pub fn wait_ms(&self) -> Option<i32> {
        if self.running.is_some() {
            return None;
        }
        let left = self.next.saturating_duration_since(Instant::now());
        // Rounded up: waking a little early would only poll again.
        Some(left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32)
    }

    /// Readable once the running probe's helper has exited.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.running.as_ref().map(|(_, fd)| fd.as_fd())
    }

    /// Start a probe if one is due.
    pub fn start_if_due(&mut self) {
        if self.running.is_some() || Instant::now() < self.next {
            return;
        }
        let args = MonitorArgs {
            root: self.root.to_path_buf(),
            id: self.id.to_string(),
            probe: true,
            in_start_period: self.started.elapsed() < self.start_period,
            ..Default::default()
        };
        match spawn_helper(&args) {
            Ok(running) => self.running = Some(running),
            Err(e) => {
                tracing::error!(error = %e, "starting a health probe");
                self.next = Instant::now() + self.interval;
            }
        }
    }

    /// The helper exited: the next probe is an interval from now.
    pub fn finished(&mut self) {
        if let Some((mut helper, _)) = self.running.take() {
            let _ = helper.wait();
        }
        self.next = Instant::now() + self.interval;
    }
}

impl Drop for Checker<'_> {
    /// The container is gone: a probe still under way is abandoned.
    fn drop(&mut self) {
        if let Some((mut helper, _)) = self.running.take() {
            let _ = helper.kill();
            let _ = helper.wait();
        }
    }
}

/// Start `wharf monitor ID --probe` with nothing of ours but the command
/// line; the child and a descriptor readable once it exits.
fn spawn_helper(args: &MonitorArgs) -> std::io::Result<(Child, OwnedFd)> {
    let mut cmd = Command::new("/proc/self/exe");
    cmd.args(args.to_argv())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // The monitor's log, pipes, sockets and database stay out of
            // the probe (and out of the container).
            libc::syscall(
                libc::SYS_close_range,
                3,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            // A probe outliving its monitor would record into a container
            // nobody watches.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    match super::process::pidfd_open(child.id() as i32) {
        Some(fd) => Ok((child, fd)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(std::io::Error::other(
                "health checks need pidfd_open (Linux 5.3)",
            ))
        }
    }
}

/// The helper (`wharf monitor ID --probe`): run one probe of container
/// `args.id` (unless it is paused: docker does not check a paused
/// container) and record it. Returns the process's exit code.
pub fn probe(args: &MonitorArgs) -> u8 {
    let store = match Store::open_existing(&args.root) {
        Ok(Some(s)) => s,
        Ok(None) => return 1,
        Err(e) => {
            tracing::error!(error = %e, "health probe: opening the store");
            return 1;
        }
    };
    let id = args.id.as_str();
    let rec = match store.read(|tx| containers::get(tx, id)) {
        Ok(Some(r)) => r,
        _ => return 1,
    };
    if rec.state.status != Status::Running {
        return 0;
    }
    let config = &rec.definition.config;
    let Some(probe) = Probe::from_config(config) else {
        return 0;
    };
    let non_empty = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    let request = ExecRequest {
        args: probe.args.clone(),
        user: non_empty(&config.user),
        workdir: non_empty(&config.working_dir),
        ..Default::default()
    };
    let dir = ContainerDir::new(&args.root, id);
    let start = chrono::Utc::now();
    // Docker's exec IDs are random; this one only needs to be unique.
    let exec_id = wharf_oci::Digest::of(format!("{id}{start:?}").as_bytes())
        .hex()
        .to_string();
    let begun = ["exec_create", "exec_start"].map(|what| {
        Event::new(EventType::Container, probe.exec_action(what), id)
            .with("execID", exec_id.as_str())
    });
    let (exit_code, output) = match run_probe(&dir, &request, probe.timeout) {
        Outcome::Exited { code, output } => (code, output),
        Outcome::TimedOut => (-1, probe.timeout_message()),
        Outcome::Failed(message) => (-1, message),
    };
    let result = HealthResult {
        start: wharf_oci::config::format_time(start),
        end: wharf_oci::config::format_time(chrono::Utc::now()),
        exit_code,
        output,
    };
    let recorded = store.write(|tx| {
        for e in begun {
            events::container_event(tx, e)?;
        }
        let die = Event::new(EventType::Container, "exec_die", id)
            .with("execID", exec_id.as_str())
            .with("exitCode", exit_code.to_string());
        events::container_event(tx, die)?;
        let changed = containers::update_health(tx, id, |h| {
            h.record(result, probe.retries, args.in_start_period)
        })?;
        if let Some((_, after)) = changed.filter(|(before, after)| before != after) {
            let action = format!("health_status: {}", after.as_str());
            events::container(tx, id, &action, &[])?;
        }
        Ok(())
    });
    match recorded {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "recording a health probe");
            1
        }
    }
}

/// How a probe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Exited { code: i32, output: String },
    TimedOut,
    Failed(String),
}

/// Docker's `limitedBuffer`: the first [`MAX_OUTPUT`] bytes, then `...`
/// if more came.
fn limited(mut bytes: Vec<u8>, more: bool) -> String {
    bytes.truncate(MAX_OUTPUT);
    let mut s = String::from_utf8_lossy(&bytes).into_owned();
    if more {
        s.push_str("...");
    }
    s
}

/// Exec the probe with a pipe as its stdout and stderr, collect its
/// output, wait for it (at most `timeout`).
fn run_probe(dir: &ContainerDir, req: &ExecRequest, timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    let (output, write_end) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(format!("creating the probe's output pipe: {e}")),
    };
    // The exec path gives the process our stdout and stderr: the pipe,
    // for as long as it starts. Then only the probe holds the write end.
    // SAFETY: dup2 onto our own stdio (this helper has nothing else there).
    unsafe {
        libc::dup2(write_end.as_raw_fd(), 1);
        libc::dup2(write_end.as_raw_fd(), 2);
    }
    drop(write_end);
    let spawned = crate::exec::spawn(dir, req);
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: as above.
        unsafe {
            libc::dup2(null.as_raw_fd(), 1);
            libc::dup2(null.as_raw_fd(), 2);
        }
    }
    let pid = match spawned {
        Ok(pid) => pid,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let pidfd = super::process::pidfd_open(pid);
    let mut out = Vec::new();
    let mut more = false;
    let mut buf = [0u8; 4096];
    let mut read_some = |out: &mut Vec<u8>, more: &mut bool| -> bool {
        match nix::unistd::read(output.as_raw_fd(), &mut buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                let room = (MAX_OUTPUT + 1).saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
                *more |= out.len() > MAX_OUTPUT || n > room;
                true
            }
        }
    };
    let mut output_open = true;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            return Outcome::TimedOut;
        }
        let mut fds = Vec::with_capacity(2);
        if output_open {
            fds.push(nix::poll::PollFd::new(
                output.as_fd(),
                nix::poll::PollFlags::POLLIN,
            ));
        }
        if let Some(p) = &pidfd {
            fds.push(nix::poll::PollFd::new(
                p.as_fd(),
                nix::poll::PollFlags::POLLIN,
            ));
        }
        let ms = left.as_millis().clamp(1, u16::MAX as u128) as u16;
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if output_open && ready.first().copied().unwrap_or(false) {
            output_open = read_some(&mut out, &mut more);
        }
        let exited = match &pidfd {
            Some(_) => ready.last().copied().unwrap_or(false),
            // No pidfd (old kernel): the output's end is the process's.
            None => !output_open,
        };
        if exited {
            break;
        }
    }
    let code = match waitpid(Pid::from_raw(pid), None) {
        Ok(WaitStatus::Exited(_, c)) => c,
        Ok(WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
        _ => -1,
    };
    // What it wrote before it exited is in the pipe; a process it left
    // behind may hold the pipe open, so no waiting for the end.
    let _ = nix::fcntl::fcntl(
        output.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    while output_open && read_some(&mut out, &mut more) {}
    Outcome::Exited {
        code,
        output: limited(out, more),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_limited_like_docker() {
        assert_eq!(limited(b"ok\n".to_vec(), false), "ok\n");
        let long = limited(vec![b'x'; MAX_OUTPUT + 1], true);
        assert_eq!(long.len(), MAX_OUTPUT + 3);
        assert!(long.ends_with("x..."));
    }
}

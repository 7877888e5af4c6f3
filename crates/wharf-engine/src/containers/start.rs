//! `docker start` / the start half of `docker run`: spawn the monitor.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use wharf_runtime::monitor::ContainerDir;
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

/// A started container. With `attach`, the caller waits on `monitor`,
/// whose exit code is the container's.
pub struct StartOutcome {
    pub id: String,
    pub monitor: Option<Child>,
}

/// The fd the monitor finds its ready pipe on.
pub const READY_FD: i32 = 3;

impl Engine {
    /// Start a created or exited container. `attach`: the monitor writes the
    /// container's output to our stdout/stderr (and feeds it our stdin when
    /// the container is interactive); otherwise it is fully detached.
    pub fn start_container(&self, name: &str, attach: bool) -> EngineResult<StartOutcome> {
        let c = self.refresh(self.find_container(name)?)?;
        if c.state == "running" {
            return Ok(StartOutcome {
                id: c.id,
                monitor: None,
            });
        }
        let _ = std::fs::remove_file(ContainerDir::new(self.store.root(), &c.id).stop_requested());
        let (ready_r, ready_w) =
            nix::unistd::pipe().map_err(|e| EngineError::io("creating ready pipe", e.into()))?;
        let mut cmd = Command::new(&self.monitor_exe);
        cmd.arg("--root")
            .arg(self.store.root())
            .arg("monitor")
            .arg(&c.id);
        if attach {
            cmd.arg("--attach");
        } else {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        let ready_raw = ready_w.as_raw_fd();
        // Its own session: terminal signals (Ctrl-C) must not kill the
        // monitor, and it outlives the CLI.
        // SAFETY: between fork and exec only async-signal-safe calls (setsid, dup2).
        unsafe {
            cmd.pre_exec(move || {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if libc::dup2(ready_raw, READY_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| EngineError::io(format!("starting the monitor of {}", c.id), e))?;
        drop(ready_w);
        let mut line = String::new();
        BufReader::new(File::from(ready_r))
            .read_line(&mut line)
            .map_err(|e| EngineError::io("reading the monitor's answer", e))?;
        let line = line.trim_end();
        if line == "ok" {
            return Ok(StartOutcome {
                id: c.id,
                monitor: attach.then_some(child),
            });
        }
        let mut child = child;
        let _ = child.wait();
        let (code, message) = match line.strip_prefix("err ").and_then(|r| r.split_once(' ')) {
            Some((code, msg)) => (code.parse().unwrap_or(125), msg.to_string()),
            None => (
                125,
                format!(
                    "the monitor of {} exited before starting the container",
                    c.id
                ),
            ),
        };
        // A container that never started is not left half-running.
        if self
            .store
            .read(|tx| containers::get(tx, &c.id))?
            .is_some_and(|r| r.state == "running")
        {
            let now = wharf_oci::config::format_time(chrono::Utc::now());
            self.store
                .write(|tx| containers::set_exited(tx, &c.id, code, &now))?;
        }
        Err(EngineError::Start { message, code })
    }
}

/// The ready pipe handed to a monitor, if this process is one.
pub fn ready_pipe() -> Option<File> {
    // SAFETY: fcntl on an fd we only probe.
    let valid = unsafe { libc::fcntl(READY_FD, libc::F_GETFD) } >= 0;
    // SAFETY: the fd is open (checked) and owned by nobody else in this process.
    valid.then(|| File::from(unsafe { OwnedFd::from_raw_fd(READY_FD) }))
}

//! `docker start` / the start half of `docker run`: spawn the monitor.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use wharf_runtime::monitor::ContainerDir;
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

/// A started container. With `attach`, the caller waits on `monitor`,
/// whose exit code is the container's (see [`Engine::wait_attached`]).
pub struct StartOutcome {
    pub id: String,
    pub monitor: Option<Child>,
    /// The ready pipe, held while attached: the monitor lets go of our
    /// terminal when it closes, and reports a detach on it.
    pub lifeline: Option<File>,
}

/// How a CLI attaches to the container it starts.
#[derive(Debug, Clone, Default)]
pub struct AttachIo {
    /// `--detach-keys` (docker's when unset).
    pub detach_keys: Option<String>,
}

/// The fd the monitor finds its ready pipe on.
pub const READY_FD: i32 = 3;
/// The fd a prespawned monitor waits on for `go` (see [`Engine::prespawn_monitor`]).
pub const GO_FD: i32 = 4;

impl Engine {
    /// Start a created or exited container. `attach`: the monitor writes the
    /// container's output to our stdout/stderr (and feeds it our stdin when
    /// the container is interactive); otherwise it is fully detached.
    pub fn start_container(
        &self,
        name: &str,
        attach: Option<&AttachIo>,
    ) -> EngineResult<StartOutcome> {
        let c = self.refresh(self.find_container(name)?)?;
        if c.state == "running" {
            return Ok(StartOutcome {
                id: c.id,
                monitor: None,
                lifeline: None,
            });
        }
        let _ = std::fs::remove_file(ContainerDir::new(self.store.root(), &c.id).stop_requested());
        let stdio = match attach {
            Some(a) => MonitorStdio::Inherit(a.clone()),
            None => MonitorStdio::Null,
        };
        let spawned = self.spawn_monitor(&c.id, stdio)?;
        self.started(c.id, spawned, attach.is_some())
    }

    /// `run`'s start: the monitor is already up (see
    /// [`Engine::prespawn_monitor`]); let it go on now that the container
    /// exists.
    pub fn start_prespawned(&self, pre: PreSpawned, attach: bool) -> EngineResult<StartOutcome> {
        let PreSpawned {
            id,
            child,
            go,
            ready,
        } = pre;
        let mut go = File::from(go);
        go.write_all(b"go\n")
            .map_err(|e| EngineError::io(format!("starting the monitor of {id}"), e))?;
        drop(go);
        let spawned = finish_spawn(child, None, ready)?;
        self.started(id, spawned, attach)
    }

    /// The outcome of a start from the monitor's ready line; a container
    /// that never started is not left half-running.
    fn started(
        &self,
        id: String,
        mut spawned: SpawnedMonitor,
        attach: bool,
    ) -> EngineResult<StartOutcome> {
        let line = match spawned.ready {
            Ok(()) => {
                return Ok(StartOutcome {
                    id,
                    monitor: attach.then_some(spawned.child),
                    lifeline: spawned.lifeline,
                })
            }
            Err(line) => {
                let _ = spawned.child.wait();
                line
            }
        };
        let (code, message) = match line.strip_prefix("err ").and_then(|r| r.split_once(' ')) {
            Some((code, msg)) => (code.parse().unwrap_or(125), msg.to_string()),
            None => (
                125,
                format!("the monitor of {id} exited before starting the container"),
            ),
        };
        if self
            .store
            .read(|tx| containers::get(tx, &id))?
            .is_some_and(|r| r.state == "running")
        {
            let now = wharf_oci::config::format_time(chrono::Utc::now());
            self.store
                .write(|tx| containers::set_exited(tx, &id, code, &now))?;
        }
        Err(EngineError::Start { message, code })
    }
}

/// What the monitor's stdout/stderr are.
pub enum MonitorStdio {
    /// Fully detached.
    Null,
    /// Ours (an attached `run`/`start`).
    Inherit(AttachIo),
    /// One pipe for both, which the caller reads (build steps).
    Piped,
}

impl Engine {
    /// Spawn `wharf monitor <id>` in its own session and read its ready
    /// line.
    pub fn spawn_monitor(&self, id: &str, stdio: MonitorStdio) -> EngineResult<SpawnedMonitor> {
        let (child, output, ready) = self.launch_monitor(id, stdio, None)?;
        finish_spawn(child, output, ready)
    }

    /// Start the monitor of a container that `run` is still creating: it
    /// loads and initialises while the CLI writes the container's records,
    /// and waits (on [`GO_FD`]) for [`Engine::start_prespawned`]. Dropped
    /// instead (creation failed), it exits without touching anything.
    pub fn prespawn_monitor(&self, stdio: MonitorStdio) -> EngineResult<PreSpawned> {
        let id = super::names::new_id();
        let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| EngineError::io("creating the monitor's go pipe", e.into()))?;
        let (child, _, ready) = self.launch_monitor(&id, stdio, Some(go_r))?;
        Ok(PreSpawned {
            id,
            child,
            go: go_w,
            ready,
        })
    }

    /// Spawn `wharf monitor <id>`: the child and the read ends of its
    /// output (with [`MonitorStdio::Piped`]) and ready pipes.
    fn launch_monitor(
        &self,
        id: &str,
        stdio: MonitorStdio,
        go: Option<OwnedFd>,
    ) -> EngineResult<(Child, Option<std::io::PipeReader>, OwnedFd)> {
        let mut output = None;
        let (ready_r, ready_w) =
            // Close-on-exec: only the monitor's fd 3 (made by dup2) may
            // outlive the exec, or the monitor would hold its own
            // lifeline's read end and never see the CLI go.
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| EngineError::io("creating ready pipe", e.into()))?;
        let mut cmd = Command::new(&self.monitor_exe);
        cmd.arg("--root")
            .arg(self.store.root())
            .arg("monitor")
            .arg(id);
        match stdio {
            MonitorStdio::Inherit(a) => {
                cmd.arg("--attach");
                if let Some(keys) = a.detach_keys {
                    cmd.arg("--detach-keys").arg(keys);
                }
            }
            MonitorStdio::Null => {
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
            }
            MonitorStdio::Piped => {
                let (r, w) =
                    std::io::pipe().map_err(|e| EngineError::io("creating an output pipe", e))?;
                let w2 = w
                    .try_clone()
                    .map_err(|e| EngineError::io("creating an output pipe", e))?;
                cmd.arg("--attach")
                    .stdin(Stdio::null())
                    .stdout(Stdio::from(w))
                    .stderr(Stdio::from(w2));
                output = Some(r);
            }
        }
        if go.is_some() {
            cmd.arg("--wait");
        }
        let ready_raw = ready_w.as_raw_fd();
        let go_raw = go.as_ref().map(|g| g.as_raw_fd());
        // Its own session: terminal signals (Ctrl-C) must not kill the
        // monitor, and it outlives the CLI.
        // SAFETY: between fork and exec only async-signal-safe calls (setsid, dup2).
        unsafe {
            cmd.pre_exec(move || {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                for (from, to) in [(Some(ready_raw), READY_FD), (go_raw, GO_FD)] {
                    if let Some(from) = from {
                        if libc::dup2(from, to) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| EngineError::io(format!("starting the monitor of {id}"), e))?;
        // Our copies of the monitor's ends: the ready pipe must reach EOF
        // when the monitor dies.
        drop(cmd);
        drop((ready_w, go));
        Ok((child, output, ready_r))
    }
}

/// Read a spawned monitor's ready line.
fn finish_spawn(
    child: Child,
    output: Option<std::io::PipeReader>,
    ready_r: OwnedFd,
) -> EngineResult<SpawnedMonitor> {
    let mut ready = File::from(ready_r);
    let line =
        read_line(&mut ready).map_err(|e| EngineError::io("reading the monitor's answer", e))?;
    Ok(SpawnedMonitor {
        child,
        output,
        ready: if line == "ok" {
            Ok(())
        } else {
            Err(line.to_string())
        },
        lifeline: Some(ready),
    })
}

/// A monitor started ahead of its container's creation.
pub struct PreSpawned {
    id: String,
    child: Child,
    /// Written once the container exists; closed unwritten if it never will.
    go: OwnedFd,
    ready: OwnedFd,
}

impl PreSpawned {
    /// The ID the container must be created with.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A spawned monitor (not reaped).
pub struct SpawnedMonitor {
    pub child: Child,
    /// Its output, with [`MonitorStdio::Piped`].
    pub output: Option<std::io::PipeReader>,
    /// `Ok` once the container runs, else the `err <code> <message>` line.
    pub ready: Result<(), String>,
    /// The ready pipe: an attached monitor writes to our terminal while
    /// this stays open (and reports a detach on it).
    pub lifeline: Option<File>,
}

/// One line from a pipe that may carry more lines later: byte by byte,
/// so nothing after the newline is consumed.
pub(crate) fn read_line(f: &mut File) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match f.read(&mut b) {
            Ok(0) => break,
            Ok(_) if b[0] == b'\n' => break,
            Ok(_) => line.push(b[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// For a prespawned monitor: wait until the CLI has created the container.
/// False when it never will (the pipe closed without `go`).
pub fn wait_for_go() -> bool {
    // SAFETY: fcntl on an fd we only probe.
    if unsafe { libc::fcntl(GO_FD, libc::F_GETFD) } < 0 {
        return false;
    }
    // SAFETY: the fd is open (checked) and owned by nobody else in this process.
    let mut go = File::from(unsafe { OwnedFd::from_raw_fd(GO_FD) });
    read_line(&mut go).is_ok_and(|l| l == "go")
}

/// The ready pipe handed to a monitor, if this process is one.
pub fn ready_pipe() -> Option<File> {
    // SAFETY: fcntl on an fd we only probe.
    let valid = unsafe { libc::fcntl(READY_FD, libc::F_GETFD) } >= 0;
    // SAFETY: as above; the container must not inherit it.
    unsafe { libc::fcntl(READY_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: the fd is open (checked) and owned by nobody else in this process.
    valid.then(|| File::from(unsafe { OwnedFd::from_raw_fd(READY_FD) }))
}

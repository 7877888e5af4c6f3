//! `docker start` / the start half of `docker run`: spawn the monitor.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

pub use super::spawn::MonitorChild;
use wharf_runtime::cgroup_warmup::Warmup;
use wharf_runtime::spec::cgroups_path;

use wharf_runtime::monitor::ContainerDir;
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

/// A started container. With `attach`, the caller waits on `monitor`,
/// whose exit code is the container's (see [`Engine::wait_attached`]).
pub struct StartOutcome {
    pub id: String,
    pub monitor: Option<MonitorChild>,
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
        let (child, output, ready) =
            launch_monitor(&self.monitor_exe, self.store.root(), id, stdio, None)?;
        finish_spawn(child, output, ready)
    }
}

/// Start the monitor of a container that `run` is still creating (in
/// store `root`, before the store is even opened): it loads and
/// initialises while the CLI writes the container's records, and waits
/// (on [`GO_FD`]) for [`Engine::start_prespawned`]. Dropped instead
/// (creation failed), it exits without touching anything.
/// `netns`: the container will be on a bridge; its monitor may start
/// making the network namespace before it knows more.
pub fn prespawn_monitor(root: &Path, stdio: MonitorStdio, netns: bool) -> EngineResult<PreSpawned> {
    let id = super::names::new_id();
    let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| EngineError::io("creating the monitor's go pipe", e.into()))?;
    let exe = monitor_exe()?;
    // The container's cgroup join waits out an RCU grace period unless one
    // passed moments before: the monitor's child starts one on its way.
    let warmup = Warmup::prepare(Some(&cgroups_path(super::CGROUP_PARENT, &id)));
    let early = Early {
        go: go_r,
        warmup: warmup.as_ref(),
        netns,
    };
    let (child, _, ready) = launch_monitor(&exe, root, &id, stdio, Some(early))?;
    Ok(PreSpawned {
        id,
        child,
        go: go_w,
        ready,
    })
}

/// The program that runs `monitor`: this binary.
pub(crate) fn monitor_exe() -> EngineResult<PathBuf> {
    std::env::current_exe().map_err(|e| EngineError::io("locating the wharf binary", e))
}

/// What a monitor started ahead of its container gets.
struct Early<'a> {
    /// The read end of the go pipe.
    go: OwnedFd,
    warmup: Option<&'a Warmup>,
    /// Start on the network namespace at once.
    netns: bool,
}

/// Spawn `wharf monitor <id>`: the child and the read ends of its
/// output (with [`MonitorStdio::Piped`]) and ready pipes.
fn launch_monitor(
    exe: &Path,
    root: &Path,
    id: &str,
    stdio: MonitorStdio,
    early: Option<Early>,
) -> EngineResult<(MonitorChild, Option<std::io::PipeReader>, OwnedFd)> {
    let mut output = None;
    // Close-on-exec: only the monitor's fd 3 (made by dup2) may outlive
    // the exec, or the monitor would hold its own lifeline's read end and
    // never see the CLI go.
    let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| EngineError::io("creating ready pipe", e.into()))?;
    let mut args: Vec<&OsStr> = vec![
        "--root".as_ref(),
        root.as_os_str(),
        "monitor".as_ref(),
        id.as_ref(),
    ];
    let mut fds: Vec<(OwnedFd, RawFd)> = vec![(ready_w, READY_FD)];
    let keys;
    match stdio {
        MonitorStdio::Inherit(a) => {
            args.push("--attach".as_ref());
            if let Some(k) = a.detach_keys {
                keys = k;
                args.push(OsStr::new("--detach-keys"));
                args.push(OsStr::new(&keys));
            }
        }
        MonitorStdio::Null => {
            let null = File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(|e| EngineError::io("opening /dev/null", e))?;
            for target in 0..3 {
                let fd = null
                    .try_clone()
                    .map_err(|e| EngineError::io("opening /dev/null", e))?;
                fds.push((fd.into(), target));
            }
        }
        MonitorStdio::Piped => {
            let (r, w) =
                std::io::pipe().map_err(|e| EngineError::io("creating an output pipe", e))?;
            let null =
                File::open("/dev/null").map_err(|e| EngineError::io("opening /dev/null", e))?;
            let w2 = w
                .try_clone()
                .map_err(|e| EngineError::io("creating an output pipe", e))?;
            args.push("--attach".as_ref());
            fds.extend([(null.into(), 0), (w.into(), 1), (w2.into(), 2)]);
            output = Some(r);
        }
    }
    let mut warmup = None;
    if let Some(e) = early {
        if e.netns {
            args.push("--netns".as_ref());
        }
        args.push("--wait".as_ref());
        fds.push((e.go, GO_FD));
        warmup = e.warmup;
    }
    // Its own session: terminal signals (Ctrl-C) must not kill the
    // monitor, and it outlives the CLI. Our copies of its fds close here:
    // the ready pipe must reach EOF when the monitor dies.
    let child = super::spawn::spawn(exe, &args, fds, warmup)?;
    Ok((child, output, ready_r))
}

/// Read a spawned monitor's ready line.
fn finish_spawn(
    child: MonitorChild,
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
    child: MonitorChild,
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
    pub child: MonitorChild,
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

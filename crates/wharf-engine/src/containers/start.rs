//! `docker start` / the start half of `docker run`: spawn the monitor.

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

pub use super::spawn::MonitorChild;
use wharf_runtime::cgroup_warmup::Warmup;
use wharf_runtime::spec::cgroups_path;

use wharf_runtime::monitor::boundary::{send_go, MonitorArgs, Ready, GO_FD, READY_FD};
use wharf_runtime::monitor::ContainerDir;
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

/// A started container. With `attach`, the caller waits on `monitor`,
/// whose exit code is the container's (see [`Engine::wait_attached`]).
pub struct StartOutcome {
    pub id: String,
    /// The monitor this call spawned (`None`: the container was already
    /// running). It is the caller's child: a long-lived caller (the API
    /// server) reaps it; the CLI exits first and leaves that to init.
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
    /// `run -a` left the container's stdout (`[0]`) or stderr (`[1]`)
    /// out: the monitor gets /dev/null for it instead of ours.
    pub unattached: [bool; 2],
}

impl Engine {
    /// Start a created or exited container. `attach`: the monitor writes the
    /// container's output to our stdout/stderr (and feeds it our stdin when
    /// the container is interactive); otherwise it is fully detached.
    pub fn start_container(
        &self,
        name: &str,
        attach: Option<&AttachIo>,
    ) -> EngineResult<StartOutcome> {
        let stdio = match attach {
            Some(a) => MonitorStdio::Inherit(a.clone()),
            None => MonitorStdio::Null,
        };
        self.start_container_with(name, stdio)
    }

    /// Start a created or exited container whose monitor gets `stdio`
    /// (the API server's attached start: [`MonitorStdio::Fds`]).
    pub fn start_container_with(
        &self,
        name: &str,
        stdio: MonitorStdio,
    ) -> EngineResult<StartOutcome> {
        let c = self.refresh(self.find_container(name)?)?;
        if c.state.status.is_running() {
            return Ok(StartOutcome {
                id: c.id,
                monitor: None,
                lifeline: None,
            });
        }
        let host_config = c.host_config();
        // `run`'s early path (see [`prespawn_monitor`]): the monitor's child
        // forks the cgroup warm-up on its way to exec, and the monitor
        // starts on the network namespace before it opens the store.
        // Measured on a created container's `start` (release, load ~6,
        // interleaved medians of 20): see docs/design-notes.md.
        let warmup = early_warmup(host_config, &c.id);
        let early = Early {
            go: None,
            warmup: warmup.as_ref(),
            netns: super::wants_bridge(host_config),
        };
        let dir = ContainerDir::new(self.store.root(), &c.id);
        let _ = std::fs::remove_file(dir.stop_requested());
        let _ = std::fs::remove_file(dir.remove_requested());
        let (child, output, ready) = launch_monitor(
            &self.monitor_exe,
            self.store.root(),
            &c.id,
            stdio,
            Some(early),
        )?;
        let spawned = finish_spawn(child, output, ready)?;
        self.started(c.id, spawned)
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
        send_go(go).map_err(|e| EngineError::io(format!("starting the monitor of {id}"), e))?;
        let spawned = finish_spawn(child, None, ready)?;
        let mut outcome = self.started(id, spawned)?;
        if !attach {
            // `run -d`: the CLI exits at once; nothing waits on the monitor.
            outcome.monitor = None;
        }
        Ok(outcome)
    }

    /// The outcome of a start from the monitor's ready line; a container
    /// that never started is not left half-running.
    fn started(&self, id: String, mut spawned: SpawnedMonitor) -> EngineResult<StartOutcome> {
        let failed = match spawned.ready {
            Ok(()) => {
                return Ok(StartOutcome {
                    id,
                    monitor: Some(spawned.child),
                    lifeline: spawned.lifeline,
                })
            }
            Err(failed) => {
                let _ = spawned.child.wait();
                failed
            }
        };
        let (code, message) = match failed {
            Some(Ready::Failed { code, message }) => (code, message),
            _ => (
                125,
                format!("the monitor of {id} exited before starting the container"),
            ),
        };
        if self
            .store
            .read(|tx| containers::state(tx, &id))?
            .is_some_and(|s| s.status.is_running())
        {
            let now = wharf_oci::config::format_time(chrono::Utc::now());
            self.store
                .write(|tx| containers::set_exited(tx, &id, code, &message, &now))?;
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
    /// Attached, to these (the API server relays them to a client).
    Fds {
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
        detach_keys: Option<String>,
    },
}

impl Engine {
    /// Spawn `wharf monitor <id>` in its own session and read its ready
    /// line (a build step's: no record, no early work).
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
/// `host_config`: the container's to be; on a bridge, its monitor may
/// start making the network namespace before it knows more.
pub fn prespawn_monitor(
    root: &Path,
    stdio: MonitorStdio,
    host_config: &wharf_model::HostConfig,
) -> EngineResult<PreSpawned> {
    let id = super::names::new_id();
    let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| EngineError::io("creating the monitor's go pipe", e.into()))?;
    let exe = monitor_exe()?;
    let warmup = early_warmup(host_config, &id);
    let early = Early {
        go: Some(go_r),
        warmup: warmup.as_ref(),
        netns: super::wants_bridge(host_config),
    };
    let (child, _, ready) = launch_monitor(&exe, root, &id, stdio, Some(early))?;
    Ok(PreSpawned {
        id,
        child,
        go: go_w,
        ready,
    })
}

/// The container's cgroup join waits out an RCU grace period unless one
/// passed moments before: the monitor's child starts a warm-up on its way
/// to exec (in wharf's own parent only: one the user names may not be
/// writable).
fn early_warmup(host_config: &wharf_model::HostConfig, id: &str) -> Option<Warmup> {
    host_config
        .resources
        .cgroup_parent
        .is_empty()
        .then(|| Warmup::prepare(Some(&cgroups_path(super::CGROUP_PARENT, id))))
        .flatten()
}

/// The program that runs `monitor`: this binary.
pub(crate) fn monitor_exe() -> EngineResult<PathBuf> {
    std::env::current_exe().map_err(|e| EngineError::io("locating the wharf binary", e))
}

/// What a monitor spawned by `run` or `start` gets: work it can begin
/// before it has read the container's record.
struct Early<'a> {
    /// `run`: the read end of the go pipe (the container is being created).
    go: Option<OwnedFd>,
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
    let mut args = MonitorArgs {
        root: root.to_path_buf(),
        id: id.to_string(),
        ..Default::default()
    };
    let mut fds: Vec<(OwnedFd, RawFd)> = vec![(ready_w, READY_FD)];
    match stdio {
        MonitorStdio::Inherit(a) => {
            args.attach = true;
            args.detach_keys = a.detach_keys;
            for (target, off) in [(1, a.unattached[0]), (2, a.unattached[1])] {
                if off {
                    let null = File::options()
                        .write(true)
                        .open("/dev/null")
                        .map_err(|e| EngineError::io("opening /dev/null", e))?;
                    fds.push((null.into(), target));
                }
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
            args.attach = true;
            fds.extend([(null.into(), 0), (w.into(), 1), (w2.into(), 2)]);
            output = Some(r);
        }
        MonitorStdio::Fds {
            stdin,
            stdout,
            stderr,
            detach_keys,
        } => {
            args.attach = true;
            args.detach_keys = detach_keys;
            fds.extend([(stdin, 0), (stdout, 1), (stderr, 2)]);
        }
    }
    let mut warmup = None;
    if let Some(e) = early {
        args.netns = e.netns;
        args.warmed = true;
        if let Some(go) = e.go {
            args.wait = true;
            fds.push((go, GO_FD));
        }
        warmup = e.warmup;
    }
    let argv = args.to_argv();
    let argv: Vec<&OsStr> = argv.iter().map(|a| a.as_os_str()).collect();
    // Its own session: terminal signals (Ctrl-C) must not kill the
    // monitor, and it outlives the CLI. Our copies of its fds close here:
    // the ready pipe must reach EOF when the monitor dies.
    let child = super::spawn::spawn(exe, &argv, fds, warmup)?;
    Ok((child, output, ready_r))
}

/// Read a spawned monitor's ready line.
fn finish_spawn(
    child: MonitorChild,
    output: Option<std::io::PipeReader>,
    ready_r: OwnedFd,
) -> EngineResult<SpawnedMonitor> {
    let mut ready = File::from(ready_r);
    let message = Ready::receive(&mut ready)
        .map_err(|e| EngineError::io("reading the monitor's answer", e))?;
    Ok(SpawnedMonitor {
        child,
        output,
        ready: match message {
            Some(Ready::Started) => Ok(()),
            other => Err(other),
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
    /// `Ok` once the container runs, else what the monitor said instead
    /// (`None`: it exited without a word).
    pub ready: Result<(), Option<Ready>>,
    /// The ready pipe: an attached monitor writes to our terminal while
    /// this stays open (and reports a detach on it).
    pub lifeline: Option<File>,
}

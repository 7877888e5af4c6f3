//! `wharf-runc`'s operations: an OCI runtime as containerd and dockerd
//! drive runc, on a state root of libcontainer containers (one directory
//! per container id, as youki keeps them). The bundle's `config.json` is
//! the only truth: nothing of wharf's Docker defaults is added. Errors
//! carry runc's wording where engines match on it ("container does not
//! exist", "container not running").

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use libcgroups::common::{create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager};
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
pub use libcontainer::oci_spec::runtime::LinuxResources;
use libcontainer::oci_spec::runtime::{LinuxPidsBuilder, LinuxResourcesBuilder, Spec};
use libcontainer::signal::Signal;
use libcontainer::syscall::syscall::SyscallType;
use serde::Serialize;

use crate::monitor::OrderedEnvExecutor;

/// The OCI runtime spec version libcontainer implements.
pub const SPEC_VERSION: &str = libcontainer::oci_spec::runtime::VERSION;

/// runc's own default is /run/runc; ours is apart so the two never share.
pub const DEFAULT_ROOT: &str = "/run/wharf-runc";

#[derive(Debug, thiserror::Error)]
pub enum RuncError {
    #[error("container does not exist")]
    NotExist,
    #[error("container with given ID already exists")]
    Exists,
    #[error("invalid container ID format")]
    InvalidId,
    #[error("container not running")]
    NotRunning,
    #[error("container not paused")]
    NotPaused,
    #[error("cannot start a container that has stopped")]
    StartStopped,
    #[error("cannot start an already running container")]
    StartRunning,
    #[error("cannot start a container in the {} state", status_word(*.0))]
    StartOther(ContainerStatus),
    #[error("cannot delete container {id} that is not stopped: {}", status_word(*.status))]
    DeleteNotStopped { id: String, status: ContainerStatus },
    #[error("cannot exec in a stopped container")]
    ExecStopped,
    #[error("cannot exec in a paused container")]
    ExecPaused,
    #[error("chdir {}: {}", .0.display(), crate::go_io_error(.1))]
    Bundle(PathBuf, std::io::Error),
    #[error("JSON specification file config.json not found")]
    NoConfig,
    /// config.json (or a `--process` file) is not a valid spec.
    #[error("{}: {}", .0.display(), .1)]
    InvalidJson(PathBuf, String),
    #[error("process property must not be empty")]
    NoProcess,
    #[error("invalid rootfs: stat {}: {}", .0.display(), crate::go_io_error(.1))]
    Rootfs(PathBuf, std::io::Error),
    #[error("unknown signal {0:?}")]
    Signal(String),
    #[error("the systemd cgroup driver is not supported by wharf-runc (leave --systemd-cgroup out: cgroupfs is used)")]
    Systemd,
    #[error("{0}")]
    Runtime(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// libcontainer's error with its causes (its top-level words are often
/// only "io error").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn runtime(e: impl std::error::Error) -> RuncError {
    let message = chain(&e);
    // runc's words for a command that cannot start, which engines show.
    let program = message
        .split("executable '")
        .nth(1)
        .and_then(|r| r.split('\'').next());
    match program {
        Some(p) if message.contains("not found in $PATH") => RuncError::Runtime(format!(
            "unable to start container process: exec: \"{p}\": executable file not found in $PATH"
        )),
        Some(p) if message.contains("does not have correct permissions") => RuncError::Runtime(
            format!("unable to start container process: exec: \"{p}\": permission denied"),
        ),
        _ => RuncError::Runtime(message.replace("youki", "wharf-runc")),
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuncError {
    let context = context.into();
    move |source| RuncError::Io { context, source }
}

/// The state root given by `--root`, made on first use (0700, as runc).
pub struct Runtime {
    root: PathBuf,
}

/// What `create` and `run` take (runc's flags).
#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub preserve_fds: i32,
}

/// What `exec` takes (runc's flags).
#[derive(Debug, Default, Clone)]
pub struct ExecOptions {
    /// `--process`: a JSON process; otherwise `args` and the flags below.
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub tty: bool,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub user: Option<u32>,
    pub group: Option<u32>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub preserve_fds: i32,
    pub ignore_paused: bool,
    pub apparmor: Option<String>,
}

/// `state`'s output, runc's fields and order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateReport {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::HashMap<String, String>>,
    pub owner: String,
}

/// A container id as runc accepts one: `^[\w+-\.]+$`, and not `.` or `..`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c))
}

/// Where the container's process is on the host, as a spec names it.
fn rootfs_of(bundle: &Path, spec: &Spec) -> Option<PathBuf> {
    let root = spec.root().as_ref()?.path();
    Some(if root.is_absolute() {
        root.clone()
    } else {
        bundle.join(root)
    })
}

impl Runtime {
    pub fn new(root: PathBuf) -> Runtime {
        Runtime { root }
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    fn ensure_root(&self) -> Result<(), RuncError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(io(format!("creating {}", self.root.display())))
    }

    /// The container `id`, its status refreshed from its init process.
    pub fn load(&self, id: &str) -> Result<Container, RuncError> {
        if !valid_id(id) {
            return Err(RuncError::NotExist);
        }
        let dir = self.dir(id);
        if !dir.join("state.json").exists() {
            return Err(RuncError::NotExist);
        }
        Container::load(dir).map_err(runtime)
    }

    /// `create`: the container's init set up, waiting for `start`.
    pub fn create(&self, id: &str, opts: &CreateOptions) -> Result<Container, RuncError> {
        self.build(id, opts, true)
    }

    /// `run`'s create: `detach` false keeps the init our child (to wait for).
    pub fn build(
        &self,
        id: &str,
        opts: &CreateOptions,
        detach: bool,
    ) -> Result<Container, RuncError> {
        if !valid_id(id) {
            return Err(RuncError::InvalidId);
        }
        let bundle = std::fs::canonicalize(&opts.bundle)
            .map_err(|e| RuncError::Bundle(opts.bundle.clone(), e))?;
        let spec = check_bundle(&bundle)?;
        self.ensure_root()?;
        let dir = self.dir(id);
        if dir.exists() {
            return Err(RuncError::Exists);
        }
        warm_up_cgroups(&spec);
        let built = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_executor(OrderedEnvExecutor::default())
            .with_pid_file(opts.pid_file.as_ref())
            .and_then(|b| b.with_root_path(&self.root))
            .map(|b| {
                b.with_console_socket(opts.console_socket.as_ref())
                    .with_preserved_fds(opts.preserve_fds)
                    .as_init(&bundle)
                    .with_systemd(false)
                    .with_detach(detach)
                    .with_no_pivot(opts.no_pivot)
            })
            .and_then(|b| b.build());
        match built {
            Ok(c) => Ok(c),
            Err(e) => {
                // libcontainer removes what it made once the init was
                // started, not the state directory of an earlier failure.
                let _ = std::fs::remove_dir_all(&dir);
                Err(runtime(e))
            }
        }
    }

    /// `start`: run the created container's process.
    pub fn start(&self, id: &str) -> Result<(), RuncError> {
        let mut c = self.load(id)?;
        match c.status() {
            ContainerStatus::Created => c.start().map_err(runtime),
            ContainerStatus::Stopped => Err(RuncError::StartStopped),
            ContainerStatus::Running => Err(RuncError::StartRunning),
            other => Err(RuncError::StartOther(other)),
        }
    }

    pub fn state(&self, id: &str) -> Result<StateReport, RuncError> {
        let c = self.load(id)?;
        Ok(report(&c))
    }

    /// Every container under the root (`list`), in id order.
    pub fn list(&self) -> Result<Vec<StateReport>, RuncError> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids
            .iter()
            .filter_map(|id| self.load(id).ok())
            .map(|c| report(&c))
            .collect())
    }

    /// `kill [--all] ID [SIGNAL]`.
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> Result<(), RuncError> {
        let mut c = self.load(id)?;
        let sig = parse_signal(signal)?;
        if c.status() == ContainerStatus::Stopped && !all {
            return Err(RuncError::NotRunning);
        }
        c.kill(sig, all).map_err(runtime)
    }

    /// `delete [--force]`. Returns the warnings to log: poststop hooks
    /// that failed (the spec's "log a warning" and go on).
    pub fn delete(&self, id: &str, force: bool) -> Result<Vec<String>, RuncError> {
        let mut c = match self.load(id) {
            Err(RuncError::NotExist) if force => {
                // A state directory without state (a create that died).
                if valid_id(id) {
                    let _ = std::fs::remove_dir_all(self.dir(id));
                }
                return Ok(Vec::new());
            }
            other => other?,
        };
        match c.status() {
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Creating
                if !force =>
            {
                Err(RuncError::DeleteNotStopped {
                    id: id.to_string(),
                    status: c.status(),
                })
            }
            ContainerStatus::Stopped => match remove_stopped(&c) {
                Some(warnings) => Ok(warnings),
                None => c.delete(force).map(|()| Vec::new()).map_err(runtime),
            },
            _ => c.delete(force).map(|()| Vec::new()).map_err(runtime),
        }
    }

    pub fn pause(&self, id: &str) -> Result<(), RuncError> {
        let mut c = self.load(id)?;
        if c.status() != ContainerStatus::Running {
            return Err(RuncError::NotRunning);
        }
        c.pause().map_err(runtime)
    }

    pub fn resume(&self, id: &str) -> Result<(), RuncError> {
        let mut c = self.load(id)?;
        if c.status() != ContainerStatus::Paused {
            return Err(RuncError::NotPaused);
        }
        c.resume().map_err(runtime)
    }

    fn cgroup(&self, c: &Container) -> Result<AnyCgroupManager, RuncError> {
        let config = c.spec().map_err(runtime)?;
        create_cgroup_manager(CgroupConfig {
            cgroup_path: config.cgroup_path,
            systemd_cgroup: c.systemd(),
            container_name: c.id().to_string(),
        })
        .map_err(runtime)
    }

    /// The host pids of every process in the container's cgroup (`ps`).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, RuncError> {
        let c = self.load(id)?;
        let mut pids: Vec<i32> = self
            .cgroup(&c)?
            .get_all_pids()
            .map_err(runtime)?
            .iter()
            .map(|p| p.as_raw())
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// `update --resources`: the limits written to the running cgroup.
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<(), RuncError> {
        let c = self.load(id)?;
        if c.status() == ContainerStatus::Stopped {
            return Err(RuncError::NotRunning);
        }
        self.cgroup(&c)?
            .apply(&libcgroups::common::ControllerOpt {
                resources,
                disable_oom_killer: false,
                oom_score_adj: None,
                freezer_state: None,
            })
            .map_err(runtime)
    }

    /// One `events` record of type "stats" (runc's envelope).
    pub fn stats(&self, id: &str) -> Result<serde_json::Value, RuncError> {
        let c = self.load(id)?;
        if c.status() == ContainerStatus::Stopped {
            return Err(RuncError::NotRunning);
        }
        let stats = self.cgroup(&c)?.stats().map_err(runtime)?;
        let data = serde_json::to_value(&stats).map_err(runtime)?;
        Ok(serde_json::json!({"type": "stats", "id": id, "data": data}))
    }

    /// `exec`: one more process in the container. Returns its exit code
    /// (0 at once with `detach`).
    pub fn exec(&self, id: &str, opts: &ExecOptions) -> Result<i32, RuncError> {
        let c = self.load(id)?;
        match c.status() {
            ContainerStatus::Stopped => return Err(RuncError::ExecStopped),
            ContainerStatus::Paused if !opts.ignore_paused => return Err(RuncError::ExecPaused),
            _ => {}
        }
        if opts.process.is_none() && opts.args.is_empty() {
            return Err(RuncError::Runtime("exec args cannot be empty".to_string()));
        }
        // `--tty` with a command: libcontainer keeps the container's own
        // `terminal`, so the process is written out with it set, as runc
        // sets it.
        let written = match (&opts.process, opts.tty) {
            (None, true) => Some(self.write_tty_process(&c, opts)?),
            _ => None,
        };
        let process = written
            .as_ref()
            .map(|t| t.0.clone())
            .or(opts.process.clone());
        let terminal = match &process {
            Some(p) => read_process(p)?.terminal().unwrap_or(false),
            None => false,
        };
        // A terminal for us to relay (runc's `exec -t` from a shell):
        // libcontainer hands the pty master over a console socket, and
        // only to a "detached" process.
        let relay = terminal && !opts.detach && opts.console_socket.is_none();
        let me = std::process::id();
        let socket = relay.then(|| self.dir(id).join(format!("tty-{me}.sock")));
        let _socket_file = socket.clone().map(crate::exec::TempFile);
        let listener = socket
            .as_ref()
            .map(|s| crate::monitor::console_socket(s))
            .transpose()
            .map_err(|e| RuncError::Runtime(e.to_string()))?;
        if !opts.detach {
            // The process is handed to us when libcontainer's
            // intermediate exits, so we can wait for it.
            // SAFETY: prctl with these arguments has no memory effects.
            unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        }
        let console = socket.as_ref().or(opts.console_socket.as_ref());
        let pid = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_executor(OrderedEnvExecutor::default())
            .with_root_path(&self.root)
            .and_then(|b| b.with_pid_file(opts.pid_file.as_ref()))
            .map(|b| {
                let b = b
                    .with_console_socket(console)
                    .with_preserved_fds(opts.preserve_fds)
                    .as_tenant()
                    .with_detach(opts.detach || relay)
                    .with_process(process.as_ref())
                    .with_no_new_privs(opts.no_new_privs)
                    .with_additional_gids(opts.additional_gids.clone())
                    .with_capabilities(opts.caps.clone())
                    .with_ignore_paused(opts.ignore_paused)
                    .with_apparmor(opts.apparmor.clone());
                if written.is_some() {
                    return b;
                }
                b.with_cwd(opts.cwd.as_ref())
                    .with_env(opts.env.iter().cloned().collect())
                    .with_container_args(opts.args.clone())
                    .with_user(opts.user)
                    .with_group(opts.group)
            })
            .and_then(|b| b.build());
        let pid = match pid {
            Ok(pid) => pid,
            Err(e) => {
                if !opts.detach {
                    // The process that failed may still be on its way
                    // out (it is ours): gone before we answer, as with
                    // runc, so `ps` right after shows only the others.
                    crate::monitor::reap_children();
                }
                return Err(runtime(e));
            }
        };
        if opts.detach {
            return Ok(0);
        }
        if let Some(l) = &listener {
            let master =
                crate::monitor::receive_master(l).map_err(|e| RuncError::Runtime(e.to_string()))?;
            crate::monitor::copy_size(&master);
            let req = crate::exec::ExecRequest {
                tty: true,
                interactive: true,
                ..Default::default()
            };
            return crate::relay::exec_tty(master, pid.as_raw(), &req)
                .map_err(|e| RuncError::Runtime(e.to_string()));
        }
        Ok(crate::monitor::wait(pid.as_raw()))
    }
}

impl Runtime {
    /// The container's own process (its bundle's config.json) with the
    /// exec's command, terminal, environment, directory and user, in a
    /// file under its state directory (removed when dropped).
    fn write_tty_process(
        &self,
        c: &Container,
        opts: &ExecOptions,
    ) -> Result<crate::exec::TempFile, RuncError> {
        let config = c.bundle().join("config.json");
        let spec = Spec::load(&config)
            .map_err(|e| RuncError::InvalidJson(config.clone(), e.to_string()))?;
        let mut process = spec.process().clone().ok_or(RuncError::NoProcess)?;
        let mut env = process.env().clone().unwrap_or_default();
        let extra: Vec<String> = opts.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        crate::exec::replace_or_append(&mut env, &extra);
        process
            .set_args(Some(opts.args.clone()))
            .set_env(Some(env))
            .set_terminal(Some(true))
            .set_console_size(None);
        if let Some(cwd) = &opts.cwd {
            process.set_cwd(cwd.clone());
        }
        if let Some(uid) = opts.user {
            let mut user = process.user().clone();
            user.set_uid(uid).set_gid(opts.group.unwrap_or(0));
            process.set_user(user);
        }
        let path = self
            .dir(c.id())
            .join(format!("exec-tty-{}.json", std::process::id()));
        let json = serde_json::to_vec(&process).map_err(runtime)?;
        std::fs::write(&path, json).map_err(io(format!("writing {}", path.display())))?;
        Ok(crate::exec::TempFile(path))
    }
}

/// `delete` of a stopped container whose cgroups hold no process (cgroupfs,
/// no Intel RDT group): its cgroup directories are
/// removed, its poststop hooks run, then its state directory goes.
/// libcontainer's delete would re-read the mount table for every
/// controller first (half of a `ctr run --rm`'s runtime time), and it
/// stops at the first failing poststop hook and keeps the state, where
/// the spec (and runc) log a warning and carry on: the warnings are
/// returned. `None`: libcontainer's delete is needed (there may be
/// processes to kill); nothing was removed then but empty cgroups.
fn remove_stopped(c: &Container) -> Option<Vec<String>> {
    if c.systemd() || c.intel_rdt_dir().is_some() || c.intel_rdt_monitoring_dir().is_some() {
        return None;
    }
    let config = libcontainer::config::YoukiConfig::load(&c.root).ok()?;
    // libcgroups joins a relative path (`:youki:<id>` when the spec has
    // none) to the hierarchy's root just as an absolute one; empty is the
    // caller's own cgroup, not the container's.
    if config.cgroup_path.as_os_str().is_empty() {
        return None;
    }
    let dirs: Vec<PathBuf> = crate::monitor::cgroup_dirs_at(&config.cgroup_path)
        .into_iter()
        .filter(|d| d.is_dir())
        .collect();
    let occupied =
        |d: &PathBuf| std::fs::read(d.join("cgroup.procs")).map_or(true, |p| !p.is_empty());
    if dirs.iter().any(occupied) {
        return None;
    }
    if dirs
        .iter()
        .any(|d| crate::monitor::remove_cgroup_dir(d).is_err())
    {
        return None;
    }
    let poststop = config.hooks.as_ref().and_then(|h| h.poststop().clone());
    let warnings = poststop
        .unwrap_or_default()
        .into_iter()
        .filter_map(|hook| {
            libcontainer::hooks::run_hooks(Some(&vec![hook]), Some(&c.state), None, None, None)
                .err()
                .map(|e| format!("poststop hook: {}", chain(&e)))
        })
        .collect();
    std::fs::remove_dir_all(&c.root).ok()?;
    Some(warnings)
}

/// A `--process` file, or the one written for `--tty`.
fn read_process(path: &Path) -> Result<libcontainer::oci_spec::runtime::Process, RuncError> {
    let text = std::fs::read(path).map_err(io(format!("open {}", path.display())))?;
    serde_json::from_slice(&text)
        .map_err(|e| RuncError::InvalidJson(path.to_path_buf(), e.to_string()))
}

/// runc's checks of a bundle before it touches anything: config.json
/// there and valid, a process, an existing rootfs.
fn check_bundle(bundle: &Path) -> Result<Spec, RuncError> {
    let path = bundle.join("config.json");
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RuncError::NoConfig),
        Err(e) => return Err(io(format!("open {}", path.display()))(e)),
    };
    let spec: Spec =
        serde_json::from_slice(&text).map_err(|e| RuncError::InvalidJson(path, e.to_string()))?;
    if spec.process().is_none() {
        return Err(RuncError::NoProcess);
    }
    if let Some(rootfs) = rootfs_of(bundle, &spec) {
        std::fs::metadata(&rootfs).map_err(|e| RuncError::Rootfs(rootfs, e))?;
    }
    Ok(spec)
}

/// The container's first cgroup join waits out an RCU grace period unless
/// another move passed moments before (see [`crate::cgroup_warmup`]): a
/// helper starts that wait now, beside libcontainer's set-up, instead of
/// in the middle of it. Only the moves: the helper makes no cgroup
/// directory, so a create that fails leaves none behind. Not for a
/// relative cgroups path (under the caller's own cgroup).
fn warm_up_cgroups(spec: &Spec) {
    let absolute = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .is_some_and(|p| p.is_absolute());
    if absolute {
        crate::cgroup_warmup::start(None);
    }
}

/// `update --pids-limit N` (no flag: nothing changes).
pub fn pids_limit(limit: Option<i64>) -> Result<LinuxResources, RuncError> {
    let err = |e: libcontainer::oci_spec::OciSpecError| RuncError::Runtime(e.to_string());
    let mut builder = LinuxResourcesBuilder::default();
    if let Some(n) = limit {
        builder = builder.pids(LinuxPidsBuilder::default().limit(n).build().map_err(err)?);
    }
    builder.build().map_err(err)
}

fn parse_signal(s: &str) -> Result<Signal, RuncError> {
    Signal::try_from(s).map_err(|_| RuncError::Signal(s.to_string()))
}

/// A status as runc and the OCI state name it (libcontainer's Display
/// capitalizes).
fn status_word(s: ContainerStatus) -> &'static str {
    match s {
        ContainerStatus::Creating => "creating",
        ContainerStatus::Created => "created",
        ContainerStatus::Running => "running",
        ContainerStatus::Stopped => "stopped",
        ContainerStatus::Paused => "paused",
    }
}

fn report(c: &Container) -> StateReport {
    let state = &c.state;
    let stopped = c.status() == ContainerStatus::Stopped;
    let rootfs = Spec::load(state.bundle.join("config.json"))
        .ok()
        .and_then(|s| rootfs_of(&state.bundle, &s))
        .unwrap_or_default();
    StateReport {
        oci_version: state.oci_version.clone(),
        id: state.id.clone(),
        // runc reports no pid for a stopped container (it may be reused).
        pid: if stopped {
            0
        } else {
            state.pid.unwrap_or_default()
        },
        status: status_word(c.status()).to_string(),
        bundle: state.bundle.clone(),
        rootfs,
        created: state
            .created
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
            .unwrap_or_default(),
        annotations: state.annotations.clone().filter(|a| !a.is_empty()),
        owner: String::new(),
    }
}

/// `spec`: runc's starting config.json: libcontainer's default spec, with
/// what runc's template has otherwise (a terminal, every device denied,
/// no cgroup namespace, no inheritable capabilities, hostname "runc").
pub fn default_spec() -> Result<Spec, RuncError> {
    use libcontainer::oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxNamespaceType};
    let err = |e: libcontainer::oci_spec::OciSpecError| RuncError::Runtime(e.to_string());
    let mut spec = Spec::default();
    spec.set_hostname(Some("runc".into())).set_annotations(None);
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(true));
        if let Some(mut caps) = p.capabilities().clone() {
            caps.set_inheritable(None);
            p.set_capabilities(Some(caps));
        }
    }
    if let Some(linux) = spec.linux_mut() {
        if let Some(ns) = linux.namespaces_mut() {
            ns.retain(|n| n.typ() != LinuxNamespaceType::Cgroup);
        }
        let deny_all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .map_err(err)?;
        if let Some(r) = linux.resources_mut() {
            r.set_devices(Some(vec![deny_all]));
        }
    }
    Ok(spec)
}

/// `features`: what this runtime implements, in the OCI features format.
pub fn features() -> Result<serde_json::Value, RuncError> {
    use libcontainer::oci_spec::runtime::{
        ApparmorBuilder, CgroupBuilder, FeaturesBuilder, LinuxFeatureBuilder, LinuxNamespaceType,
        SeccompBuilder, SelinuxBuilder,
    };
    let err = |e: libcontainer::oci_spec::OciSpecError| RuncError::Runtime(e.to_string());
    let namespaces = vec![
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::User,
        LinuxNamespaceType::Uts,
    ];
    let capabilities: Vec<String> = crate::spec::all_capabilities()
        .map(|c| crate::spec::cap_name(c).to_string())
        .collect();
    let linux = LinuxFeatureBuilder::default()
        .namespaces(namespaces)
        .capabilities(capabilities)
        .cgroup(
            CgroupBuilder::default()
                .v1(true)
                .v2(true)
                .systemd(false)
                .systemd_user(false)
                .rdma(false)
                .build()
                .map_err(err)?,
        )
        .seccomp(
            SeccompBuilder::default()
                .enabled(true)
                .build()
                .map_err(err)?,
        )
        .apparmor(
            ApparmorBuilder::default()
                .enabled(true)
                .build()
                .map_err(err)?,
        )
        .selinux(
            SelinuxBuilder::default()
                .enabled(false)
                .build()
                .map_err(err)?,
        )
        .build()
        .map_err(err)?;
    let hooks = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ]
    .map(String::from)
    .to_vec();
    let features = FeaturesBuilder::default()
        .oci_version_min("1.0.0".to_string())
        .oci_version_max(libcontainer::oci_spec::runtime::VERSION.to_string())
        .hooks(hooks)
        .mount_options(libcontainer::syscall::linux::MountOption::known_options())
        .linux(linux)
        .build()
        .map_err(err)?;
    serde_json::to_value(&features).map_err(runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_runc_accepts_them() {
        for ok in ["c1", "a.b_c-d+e", "0123456789abcdef"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "../x"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn signals_by_name_or_number() {
        for s in ["9", "KILL", "SIGKILL"] {
            assert!(parse_signal(s).is_ok(), "{s}");
        }
        assert_eq!(
            parse_signal("FOO").err().map(|e| e.to_string()),
            Some("unknown signal \"FOO\"".to_string())
        );
    }
}

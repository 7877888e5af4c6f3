//! Starting, reaping and tearing down the container through libcontainer.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{pipe, Pid};

use super::{ContainerDir, MonitorConfig};
use crate::rootfs::{mount_overlay_with, unmount};
use crate::spec::{
    build_spec, cgroups_path, ensure_working_dir, CgroupLayout, HostInfo, IpcMode, NetworkMode,
    SpecInput,
};
use crate::RuntimeError;

/// A started container and the read ends of its output pipes.
pub struct Started {
    pub pid: i32,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// With `-t`: the pty master, which also takes our stdin.
    pub tty: Option<OwnedFd>,
    /// With `-i` and no CLI attached: the write end of the container's
    /// stdin, for `attach` clients.
    pub stdin: Option<OwnedFd>,
    /// `attach.sock`, listening (not for build steps).
    pub attach: Option<std::os::unix::net::UnixListener>,
}

/// Docker's exit code and message for a start failure, from libcontainer's.
pub(crate) fn start_failure(message: String) -> RuntimeError {
    // libcontainer names the program as `executable 'NAME'`.
    let program = message
        .split("executable '")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap_or("")
        .to_string();
    if message.contains("not found in $PATH") {
        RuntimeError::Start {
            message: format!("exec: \"{program}\": executable file not found in $PATH"),
            code: 127,
        }
    } else if message.contains("does not have correct permissions") {
        RuntimeError::Start {
            message: format!("exec: \"{program}\": permission denied"),
            code: 126,
        }
    } else {
        RuntimeError::Start { message, code: 125 }
    }
}

/// What [`prepare`] made ready.
pub struct Prepared {
    host: HostInfo,
    cgroup_view: Option<PathBuf>,
}

/// The container's filesystem side, which needs nothing of its network
/// (so it runs beside the network setup): the rootfs mounted, volumes
/// acquired, the cgroup view built, the spec written.
pub fn prepare(dir: &ContainerDir, config: &MonitorConfig) -> Result<Prepared, RuntimeError> {
    std::fs::create_dir_all(dir.empty())
        .map_err(|e| RuntimeError::io("creating empty lower dir", e))?;
    mount_overlay_with(
        &config.lowers,
        &dir.upper(),
        &dir.work(),
        &dir.rootfs(),
        &dir.empty(),
        config.auto_remove,
    )?;
    for v in &config.volume_mounts {
        crate::volume_mount::acquire(v, &dir.id)?;
    }
    if config.options.ipc == IpcMode::Shareable {
        let size = config
            .options
            .shm_size
            .filter(|s| *s > 0)
            .unwrap_or(crate::spec::DEFAULT_SHM_SIZE);
        crate::rootfs::mount_shm(&dir.shm(), size)?;
    }
    crate::timeline::mark("mon: overlay mounted");
    let host = HostInfo::detect_for(config.options.init);
    // Not with --privileged: libcontainer's own (writable) emulation then.
    let view =
        (host.cgroup != CgroupLayout::V2 && !config.options.privileged).then(|| dir.cgroup_view());
    if let Some(v) = &view {
        super::cgroup_view::prepare(v, &cgroups_path(&config.cgroup_parent, &dir.id))?;
    }
    crate::timeline::mark("mon: cgroup view");
    write_spec(dir, config, &host, view.clone())?;
    crate::timeline::mark("mon: spec written");
    Ok(Prepared {
        host,
        cgroup_view: view,
    })
}

/// Start the container, [`prepare`]d; `respec`: its network mode changed
/// since. `attached`: a CLI is attached to this monitor (our stdio is the
/// CLI's).
pub fn start(
    dir: &ContainerDir,
    config: &MonitorConfig,
    prepared: Prepared,
    respec: bool,
    attached: bool,
    hooks: &dyn super::MonitorHooks,
) -> Result<Started, RuntimeError> {
    let wiring = hooks.take_wiring();
    let view = prepared.cgroup_view;
    if respec {
        write_spec(dir, config, &prepared.host, view.clone())?;
    }
    let tty = config.options.tty;
    let (out_r, out_w) = pipe().map_err(|e| RuntimeError::io("creating stdout pipe", e.into()))?;
    let (err_r, err_w) = pipe().map_err(|e| RuntimeError::io("creating stderr pipe", e.into()))?;
    let mut stdin_w = None;
    let stdin: OwnedFd = if config.options.interactive && !tty && attached {
        std::io::stdin()
            .as_fd_owned()
            .map_err(|e| RuntimeError::io("duplicating stdin", e))?
    } else if config.options.interactive && !tty {
        // Kept open for `attach`, as docker keeps a `-di` container's stdin.
        let (r, w) = pipe().map_err(|e| RuntimeError::io("creating stdin pipe", e.into()))?;
        stdin_w = Some(w);
        r
    } else {
        // An empty pipe, closed at once: the container reads EOF.
        let (r, w) = pipe().map_err(|e| RuntimeError::io("creating stdin pipe", e.into()))?;
        drop(w);
        r
    };
    let attach = if config.ephemeral {
        None
    } else {
        Some(super::attach::listen(&dir.attach_socket())?)
    };
    let console = if tty {
        Some(super::tty::console_socket(&dir.path.join("console.sock"))?)
    } else {
        None
    };
    let mut builder = ContainerBuilder::new(dir.id.clone(), SyscallType::default())
        .with_root_path(dir.runtime_state())
        .map_err(|e| start_failure(e.to_string()))?
        .with_executor(super::executor::OrderedEnvExecutor {
            window: tty.then(|| crate::term::window_size(1)).flatten(),
        });
    if console.is_some() {
        builder = builder.with_console_socket(Some(dir.path.join("console.sock")));
        drop((stdin, out_w, err_w));
    } else {
        builder = builder
            .with_stdin(stdin)
            .with_stdout(out_w)
            .with_stderr(err_w);
    }
    // The network's kernel work goes to a child process and overlaps
    // libcontainer's build.
    let wiring = wiring.map(Forked::spawn).transpose()?;
    crate::timeline::mark("mon: wiring forked");
    let built = builder
        .as_init(dir.bundle())
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| start_failure(format!("failed to create container: {e}")));
    crate::timeline::mark("mon: libcontainer built");
    // The container's mount namespace has its copy now (or never will).
    if let Some(v) = &view {
        super::cgroup_view::release(v);
    }
    let wired = wiring.map(Forked::join).transpose();
    let in_force = hooks.rules_in_force();
    let mut container = built?;
    wired?;
    in_force.map_err(|e| RuntimeError::Start {
        message: e.to_string(),
        code: 125,
    })?;
    crate::timeline::mark("mon: wired");
    if config.options.resources.oom_kill_disable == Some(true) {
        disable_oom_killer(config, &dir.id)?;
    }
    if config.options.network_mode == NetworkMode::None {
        if let Some(pid) = container.pid() {
            loopback_up(pid.as_raw())?;
        }
    }
    let master = console
        .as_ref()
        .map(super::tty::receive_master)
        .transpose()?;
    if let Some(m) = &master {
        super::tty::copy_size(m);
    }
    container
        .start()
        .map_err(|e| start_failure(format!("failed to start container: {e}")))?;
    crate::timeline::mark("mon: container started");
    let pid = container
        .pid()
        .map(|p| p.as_raw())
        .ok_or_else(|| start_failure("container has no pid".into()))?;
    let (stdout, tty) = match master {
        Some(m) => (
            m.try_clone()
                .map_err(|e| RuntimeError::io("duplicating the pty master", e))?,
            Some(m),
        ),
        None => (out_r, None),
    };
    Ok(Started {
        pid,
        stdout,
        stderr: err_r,
        tty,
        stdin: stdin_w,
        attach,
    })
}

/// `--oom-kill-disable`, which libcontainer leaves out of the memory
/// cgroup it sets up (v1 only: v2 has no such switch, and create dropped
/// the flag there).
fn disable_oom_killer(config: &MonitorConfig, id: &str) -> Result<(), RuntimeError> {
    let cgroup = cgroups_path(&config.cgroup_parent, id);
    let rel = cgroup.strip_prefix("/").unwrap_or(&cgroup);
    let file = std::path::Path::new("/sys/fs/cgroup/memory")
        .join(rel)
        .join("memory.oom_control");
    std::fs::write(&file, "1").map_err(|e| RuntimeError::Start {
        message: format!("failed to disable the OOM killer: {}: {e}", file.display()),
        code: 125,
    })
}

/// `--network none`: the container's own namespace holds only a loopback,
/// which docker brings up and libcontainer leaves down. Done from a
/// thread that joins the namespace (the container's own capabilities may
/// not allow it), before the container runs.
fn loopback_up(pid: i32) -> Result<(), RuntimeError> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| RuntimeError::io("opening the container's network namespace", e))?;
    let up = std::thread::spawn(move || -> std::io::Result<()> {
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)?;
        // SAFETY: a socket we own, and an ifreq naming "lo" for the
        // two interface-flag ioctls, which only read and write it.
        unsafe {
            let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if sock < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut req: libc::ifreq = std::mem::zeroed();
            for (d, s) in req.ifr_name.iter_mut().zip(b"lo") {
                *d = *s as libc::c_char;
            }
            let ok = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) == 0 && {
                req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
                libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) == 0
            };
            let err = std::io::Error::last_os_error();
            libc::close(sock);
            if ok {
                Ok(())
            } else {
                Err(err)
            }
        }
    });
    up.join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the thread panicked")))
        .map_err(|e| RuntimeError::io("bringing the container's loopback up", e))
}

/// The container's OCI spec, for the mounted rootfs, into `config.json`.
fn write_spec(
    dir: &ContainerDir,
    config: &MonitorConfig,
    host: &HostInfo,
    cgroup_view: Option<PathBuf>,
) -> Result<(), RuntimeError> {
    let mut paths = dir.paths();
    paths.cgroup_view = cgroup_view;
    paths.shm_dir = match &config.options.ipc {
        IpcMode::Shareable => Some(dir.shm()),
        IpcMode::Host => Some("/dev/shm".into()),
        IpcMode::Join { shm, .. } => Some(shm.clone()),
        _ => None,
    };
    let spec = build_spec(&SpecInput {
        id: &dir.id,
        name: &config.name,
        image: &config.image,
        opts: &config.options,
        paths: &paths,
        cgroup_parent: &config.cgroup_parent,
        host,
    })
    .map_err(|e| RuntimeError::Start {
        message: e.to_string(),
        code: 125,
    })?;
    let cwd = spec
        .process()
        .as_ref()
        .map(|p| p.cwd().display().to_string())
        .unwrap_or_else(|| "/".into());
    ensure_working_dir(&dir.rootfs(), &cwd).map_err(|e| RuntimeError::Start {
        message: e.to_string(),
        code: 125,
    })?;
    if let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        crate::seccomp_cache::use_for(dir.store_root(), seccomp);
    }
    let json = serde_json::to_vec(&spec).map_err(|e| RuntimeError::Unsupported(e.to_string()))?;
    // The process env (`-e` secrets) is in it: 0600.
    wharf_store::private::write_private(&dir.spec(), &json)
        .map_err(|e| RuntimeError::io("writing config.json", e))
}

trait AsFdOwned {
    fn as_fd_owned(&self) -> std::io::Result<OwnedFd>;
}

impl AsFdOwned for std::io::Stdin {
    fn as_fd_owned(&self) -> std::io::Result<OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}

/// Reap `pid`; docker's exit code (128+n for signal n).
pub fn wait(pid: i32) -> i32 {
    wait_for(pid, Some(Pid::from_raw(pid)))
}

/// Whether the kernel's OOM killer struck in the container's memory cgroup
/// (`cgroups`: `/wharf/<id>`): `oom_kill` in cgroup v1's
/// `memory.oom_control` or v2's `memory.events`. Read before teardown.
pub(crate) fn oom_killed(cgroups: &std::path::Path) -> bool {
    let rel = cgroups.strip_prefix("/").unwrap_or(cgroups);
    let base = std::path::Path::new("/sys/fs/cgroup");
    [
        base.join("memory").join(rel).join("memory.oom_control"),
        base.join(rel).join("memory.events"),
    ]
    .iter()
    .filter_map(|f| std::fs::read_to_string(f).ok())
    .any(|text| {
        text.lines()
            .filter_map(|l| l.strip_prefix("oom_kill "))
            .any(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0))
    })
}

/// A descriptor that polls readable once process `pid` has exited.
pub fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: the kernel just returned this descriptor to us.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Wait for every child of ours to exit.
pub fn reap_children() {
    while !matches!(waitpid(None, None), Err(nix::errno::Errno::ECHILD)) {}
}

/// [`wait`] for the monitor: other children (orphans reparented to it,
/// helpers it started) are reaped on the way, so none lingers as a zombie.
pub(crate) fn wait_reaping(pid: i32) -> i32 {
    wait_for(pid, None)
}

fn wait_for(pid: i32, which: Option<Pid>) -> i32 {
    loop {
        match waitpid(which, None) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return code,
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => return 128 + sig as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!(pid, error = %e, "waiting for the container");
                return 255;
            }
        }
    }
}

/// Release what a (stopped or failed) container holds: libcontainer state
/// and cgroup, the rootfs mount, volumes mounted for it. `reaped`: its
/// init was reaped, so nothing of it runs any more (its PID namespace went
/// with it) and libcontainer's delete, which would look for processes to
/// kill through every cgroup hierarchy's mount info, is not needed: its
/// state directory and cgroups are simply removed.
pub fn teardown(
    dir: &ContainerDir,
    reaped: bool,
    volume_mounts: &[wharf_model::VolumeMount],
    cgroup_parent: &str,
) {
    let state = dir.runtime_state().join(&dir.id);
    let container = (!reaped && state.join("state.json").exists())
        .then(|| Container::load(state).ok())
        .flatten();
    if let Some(mut c) = container {
        if let Err(e) = c.delete(true) {
            tracing::warn!(error = %e, "deleting libcontainer state");
        }
    }
    // libcontainer's state files beside the unmount, which waits for the
    // upper filesystem's sync (~1.3 ms of the teardown's ~2.3 ms; the
    // unlinks of files with a data block cost 0.2-0.3 ms each here).
    std::thread::scope(|s| {
        s.spawn(|| {
            let _ = std::fs::remove_dir_all(dir.runtime_state());
            let _ = std::fs::remove_file(dir.attach_socket());
        });
        // Before the cgroups: a mounted cgroup directory cannot be removed.
        super::cgroup_view::release(&dir.cgroup_view());
        remove_leftover_cgroups(&dir.id, cgroup_parent);
        if let Err(e) = unmount(&dir.rootfs()) {
            tracing::warn!(error = %e, "unmounting rootfs");
        }
    });
    // `--ipc shareable` (one stat otherwise).
    let shm = dir.shm();
    if shm.exists() {
        if let Err(e) = unmount(&shm) {
            tracing::warn!(error = %e, "unmounting /dev/shm");
        }
        let _ = std::fs::remove_dir(&shm);
    }
    for v in volume_mounts {
        crate::volume_mount::release(v, &dir.id);
    }
}

/// rmdir the container's cgroups under `cgroup_parent` (after a reaped
/// container, or those libcontainer could not delete: its state was lost,
/// e.g. the store was wiped under a running container), and under the
/// default parent, where `run`'s cgroup warm-up may have made them. One
/// stat per controller when none is left.
pub fn remove_leftover_cgroups(id: &str, cgroup_parent: &str) {
    for d in cgroup_dirs(id, cgroup_parent) {
        if !d.is_dir() {
            continue;
        }
        if let Err(e) = remove_cgroup_dir(&d) {
            tracing::warn!(path = %d.display(), error = %e, "removing a cgroup");
        }
    }
}

/// rmdir one cgroup directory; gone already is fine (a v1 co-mount is
/// reached under several names). The kernel may still be letting go of
/// the last task (EBUSY): tried again for ~100 ms.
pub fn remove_cgroup_dir(d: &std::path::Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where container `id`'s cgroups would be: under `cgroup_parent` and the
/// default parent, on every controller (v1) or the unified hierarchy.
fn cgroup_dirs(id: &str, cgroup_parent: &str) -> Vec<PathBuf> {
    let mut parents = vec![crate::spec::DEFAULT_CGROUP_PARENT];
    if cgroup_parent != crate::spec::DEFAULT_CGROUP_PARENT {
        parents.push(cgroup_parent);
    }
    parents
        .into_iter()
        .flat_map(|parent| cgroup_dirs_at(&cgroups_path(parent, id)))
        .collect()
}

/// An absolute cgroups path (`/wharf/<id>`) on the unified hierarchy and
/// under every entry of /sys/fs/cgroup (v1 controllers), existing or not.
pub fn cgroup_dirs_at(cgroups: &std::path::Path) -> Vec<PathBuf> {
    let base = std::path::Path::new("/sys/fs/cgroup");
    let rel = cgroups.strip_prefix("/").unwrap_or(cgroups);
    let mut dirs = vec![base.join(rel)];
    if let Ok(controllers) = std::fs::read_dir(base) {
        dirs.extend(controllers.flatten().map(|c| c.path().join(rel)));
    }
    dirs
}

/// Those of [`cgroup_dirs`] that exist.
pub fn leftover_cgroups(id: &str, cgroup_parent: &str) -> Vec<PathBuf> {
    cgroup_dirs(id, cgroup_parent)
        .into_iter()
        .filter(|d| d.is_dir())
        .collect()
}

/// A forked child doing [`super::Wiring`]; its error comes back on a pipe.
struct Forked {
    pid: Pid,
    errors: std::fs::File,
}

impl Forked {
    fn spawn(work: super::Wiring) -> Result<Forked, RuntimeError> {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| RuntimeError::io("creating a pipe", e.into()))?;
        // SAFETY: the monitor runs no other thread (it is single-threaded
        // for libcontainer), so the child may run ordinary code; it leaves
        // through _exit, running none of the parent's destructors.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                drop(r);
                let code = match work() {
                    Ok(()) => 0,
                    Err(e) => {
                        let _ =
                            std::io::Write::write_all(&mut std::fs::File::from(w), e.as_bytes());
                        1
                    }
                };
                // SAFETY: ends the child without unwinding into the parent's state.
                unsafe { libc::_exit(code) }
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => Ok(Forked {
                pid: child,
                errors: std::fs::File::from(r),
            }),
            Err(e) => Err(RuntimeError::io("forking the network setup", e.into())),
        }
    }

    fn join(mut self) -> Result<(), RuntimeError> {
        let mut message = String::new();
        let _ = std::io::Read::read_to_string(&mut self.errors, &mut message);
        loop {
            match waitpid(self.pid, None) {
                Ok(WaitStatus::Exited(_, 0)) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                other => {
                    if message.is_empty() {
                        message = format!("the network setup ended with {other:?}");
                    }
                    return Err(RuntimeError::Start { message, code: 125 });
                }
            }
        }
    }
}

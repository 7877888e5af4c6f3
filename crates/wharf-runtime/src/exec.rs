//! `docker exec`: one more process in a running container's namespaces and
//! cgroup, through libcontainer's tenant builder. Runs in the (single
//! threaded) CLI process. The process is described like the container's
//! own (capabilities, rlimits, user, environment from its `config.json`),
//! changed by the exec's flags. Without `-t` it inherits the CLI's stdio;
//! with `-t` it gets a pty whose master the CLI relays to the user's
//! terminal.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::oci_spec::runtime::{Process, Spec};
use libcontainer::syscall::syscall::SyscallType;

use crate::monitor::ContainerDir;
use crate::spec::resolve_user;
use crate::RuntimeError;

#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub args: Vec<String>,
    /// `-e` values (`KEY=VALUE`), on top of the container's environment.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub detach: bool,
    /// `-i`: the process reads our stdin (else it reads EOF).
    pub interactive: bool,
    /// `-t`: a pseudo-terminal.
    pub tty: bool,
    /// `--detach-keys` (docker's default when empty), with `-t`.
    pub detach_keys: Vec<u8>,
    /// `--privileged`: every capability (this process can grant), in all
    /// sets, as docker gives an exec; no AppArmor confinement.
    pub privileged: bool,
}

fn dup<F: AsFd>(f: F) -> Result<OwnedFd, RuntimeError> {
    f.as_fd()
        .try_clone_to_owned()
        .map_err(|e| RuntimeError::io("duplicating stdio", e))
}

/// `KEY=VALUE` entries of `extra` replace those of `env` with the same key
/// in place, or are appended (docker's ReplaceOrAppendEnvValues).
pub(crate) fn replace_or_append(env: &mut Vec<String>, extra: &[String]) {
    let key = |e: &str| e.split('=').next().unwrap_or_default().to_string();
    for e in extra {
        match env.iter_mut().find(|x| key(x) == key(e)) {
            Some(x) => *x = e.clone(),
            None => env.push(e.clone()),
        }
    }
}

/// The exec's process: the container's, with the exec's command, env,
/// working directory, user and terminal.
fn exec_process(dir: &ContainerDir, req: &ExecRequest) -> Result<Process, RuntimeError> {
    let spec = Spec::load(dir.spec()).map_err(|e| {
        RuntimeError::Unsupported(format!("reading the spec of container {}: {e}", dir.id))
    })?;
    // libcontainer's init loads the container's filter, compiled once.
    if let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        crate::seccomp_cache::use_for(dir.store_root(), seccomp);
    }
    let mut process = spec.process().clone().unwrap_or_default();
    let mut env = process.env().clone().unwrap_or_default();
    if req.tty {
        replace_or_append(&mut env, &["TERM=xterm".to_string()]);
    }
    replace_or_append(&mut env, &req.env);
    if let Some(u) = &req.user {
        let u = resolve_user(&dir.rootfs(), u).map_err(|e| RuntimeError::Start {
            message: e.to_string(),
            code: 126,
        })?;
        let mut user = process.user().clone();
        user.set_uid(u.uid)
            .set_gid(u.gid)
            .set_additional_gids(Some(u.supplementary_gids.clone()));
        process.set_user(user);
    }
    if let Some(w) = &req.workdir {
        process.set_cwd(PathBuf::from(w));
    }
    if req.privileged {
        let host = crate::spec::HostInfo::detect_for(false);
        let all: std::collections::HashSet<_> = crate::spec::all_capabilities()
            .filter(|c| host.capabilities.contains(c))
            .collect();
        let caps = libcontainer::oci_spec::runtime::LinuxCapabilitiesBuilder::default()
            .bounding(all.clone())
            .effective(all.clone())
            .permitted(all.clone())
            .inheritable(all)
            .ambient(std::collections::HashSet::new())
            .build()
            .map_err(|e| RuntimeError::Unsupported(e.to_string()))?;
        process.set_capabilities(Some(caps));
        if process.apparmor_profile().is_some() {
            process.set_apparmor_profile(Some("unconfined".into()));
        }
    }
    process
        .set_args(Some(req.args.clone()))
        .set_env(Some(env))
        .set_terminal(Some(req.tty))
        .set_console_size(None);
    Ok(process)
}

/// Removes a file when dropped.
pub(crate) struct TempFile(pub(crate) PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_process(path: &Path, process: &Process) -> Result<TempFile, RuntimeError> {
    let json = serde_json::to_vec(process).map_err(|e| RuntimeError::Unsupported(e.to_string()))?;
    std::fs::write(path, json)
        .map_err(|e| RuntimeError::io(format!("writing {}", path.display()), e))?;
    Ok(TempFile(path.to_path_buf()))
}

/// A started exec: its pid on the host, its pty master (`-t`), and the
/// files libcontainer was handed, removed when this is dropped.
struct Launched {
    pid: i32,
    master: Option<OwnedFd>,
    _files: Vec<TempFile>,
}

/// Start the process; returns its exit code (0 at once with `detach`).
/// `warm` (see [`crate::cgroup_warmup::hold`]) is let go once it runs.
pub fn exec(
    dir: &ContainerDir,
    req: &ExecRequest,
    warm: Option<crate::cgroup_warmup::Held>,
) -> Result<i32, RuntimeError> {
    let launched = launch(dir, req);
    crate::timeline::mark("exec: launched");
    drop(warm);
    let launched = launched?;
    if req.detach {
        return Ok(0);
    }
    match launched.master {
        Some(master) => crate::relay::exec_tty(master, launched.pid, req),
        None => Ok(crate::monitor::wait(launched.pid)),
    }
}

/// Start the process (without a terminal) and return its pid on the
/// host; it is our child, for the caller to wait for. Its stdio is ours.
pub(crate) fn spawn(dir: &ContainerDir, req: &ExecRequest) -> Result<i32, RuntimeError> {
    let req = ExecRequest {
        tty: false,
        detach: false,
        ..req.clone()
    };
    Ok(launch(dir, &req)?.pid)
}

fn launch(dir: &ContainerDir, req: &ExecRequest) -> Result<Launched, RuntimeError> {
    // The new process is reparented to us when libcontainer's intermediate exits.
    // SAFETY: prctl with these arguments has no memory effects.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let process = exec_process(dir, req)?;
    crate::timeline::mark("exec: process spec");
    let me = std::process::id();
    let mut files = vec![write_process(
        &dir.path.join(format!("exec-{me}.json")),
        &process,
    )?];
    // Docker reports every exec that cannot start as 126.
    let fail = |e: libcontainer::error::LibcontainerError| match crate::monitor::start_failure(
        e.to_string(),
    ) {
        RuntimeError::Start { message, code } => RuntimeError::Start {
            message: format!("OCI runtime exec failed: {message}"),
            code: if code == 125 { 1 } else { 126 },
        },
        other => other,
    };
    let window = req
        .tty
        .then(|| crate::term::window_size(1).or_else(|| crate::term::window_size(0)))
        .flatten();
    let mut builder = ContainerBuilder::new(dir.id.clone(), SyscallType::default())
        .with_root_path(dir.runtime_state())
        .map_err(fail)?
        .with_executor(crate::monitor::OrderedEnvExecutor { window });
    let console_path = console_path(dir, &me.to_string())?;
    let console = if req.tty {
        let listener = crate::monitor::console_socket(&console_path)?;
        builder = builder.with_console_socket(Some(&console_path));
        files.push(TempFile(console_path));
        Some(listener)
    } else {
        let stdin = if req.interactive {
            dup(std::io::stdin())?
        } else {
            // An empty pipe, closed at once: the process reads EOF.
            let (r, _) = nix::unistd::pipe()
                .map_err(|e| RuntimeError::io("creating stdin pipe", e.into()))?;
            r
        };
        builder = builder
            .with_stdin(stdin)
            .with_stdout(dup(std::io::stdout())?)
            .with_stderr(dup(std::io::stderr())?);
        None
    };
    let pid = builder
        .as_tenant()
        .with_process(Some(dir.path.join(format!("exec-{me}.json"))))
        // libcontainer hands a pty out only to "detached" processes; we
        // wait for it all the same.
        .with_detach(req.detach || req.tty)
        .build()
        .map_err(fail)?
        .as_raw();
    let master = console
        .map(|listener| crate::monitor::receive_master(&listener))
        .transpose()?;
    Ok(Launched {
        pid,
        master,
        _files: files,
    })
}

/// Where libcontainer hands an exec's pty master to us. It connects by
/// path, and a socket address holds 107 bytes: a store root of more than
/// ~20 characters puts the container's directory past that, so the
/// socket then lives in a private directory under /run.
fn console_path(dir: &ContainerDir, me: &str) -> Result<PathBuf, RuntimeError> {
    let name = format!("exec-{me}.sock");
    let near = dir.path.join(&name);
    if near.as_os_str().len() < 100 {
        return Ok(near);
    }
    let run = std::path::Path::new(SHORT_SOCKET_DIR);
    std::fs::create_dir_all(run)
        .map_err(|e| RuntimeError::io(format!("creating {SHORT_SOCKET_DIR}"), e))?;
    std::fs::set_permissions(run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(|e| RuntimeError::io(format!("chmod {SHORT_SOCKET_DIR}"), e))?;
    Ok(run.join(format!("{}-{name}", &dir.id[..dir.id.len().min(12)])))
}

/// Console sockets whose natural place has too long a path.
const SHORT_SOCKET_DIR: &str = "/run/wharf/console";

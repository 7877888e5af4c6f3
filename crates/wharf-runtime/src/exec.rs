//! `docker exec`: one more process in a running container's namespaces and
//! cgroup, through libcontainer's tenant builder. Runs in the (single
//! threaded) CLI process, whose stdio the new process inherits.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use libcontainer::container::builder::ContainerBuilder;
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
}

fn dup<F: AsFd>(f: F) -> Result<OwnedFd, RuntimeError> {
    f.as_fd()
        .try_clone_to_owned()
        .map_err(|e| RuntimeError::io("duplicating stdio", e))
}

/// Start the process; returns its exit code (0 at once with `detach`).
pub fn exec(dir: &ContainerDir, req: &ExecRequest) -> Result<i32, RuntimeError> {
    // The new process is reparented to us when libcontainer's intermediate exits.
    // SAFETY: prctl with these arguments has no memory effects.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let env: HashMap<String, String> = req
        .env
        .iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let user = req
        .user
        .as_deref()
        .map(|u| resolve_user(&dir.rootfs(), u))
        .transpose()
        .map_err(|e| RuntimeError::Start {
            message: e.to_string(),
            code: 126,
        })?;
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
    let mut builder = ContainerBuilder::new(dir.id.clone(), SyscallType::default())
        .with_root_path(dir.runtime_state())
        .map_err(fail)?
        .with_stdin(dup(std::io::stdin())?)
        .with_stdout(dup(std::io::stdout())?)
        .with_stderr(dup(std::io::stderr())?)
        .as_tenant()
        .with_container_args(req.args.clone())
        .with_env(env)
        .with_cwd(req.workdir.as_ref())
        .with_detach(req.detach);
    if let Some(u) = user {
        builder = builder
            .with_user(Some(u.uid))
            .with_group(Some(u.gid))
            .with_additional_gids(u.supplementary_gids.clone());
    }
    let pid = builder.build().map_err(fail)?;
    if req.detach {
        return Ok(0);
    }
    Ok(crate::monitor::wait(pid.as_raw()))
}

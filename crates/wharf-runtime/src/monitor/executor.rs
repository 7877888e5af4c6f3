//! How the container's init finally execs the command.
//!
//! libcontainer's default executor passes the environment through a
//! HashMap, so the container would see its variables in random order;
//! docker keeps the spec's order (`env` prints them as `docker inspect`
//! lists them). This one execs with `process.env` exactly as written.
//! With a terminal it first gives the terminal the user's window size, so
//! the command never sees a 0x0 terminal (the monitor or the CLI only gets
//! the pty master once the process runs). SIGPIPE goes back to its
//! default, which the Rust runtime of the monitor had set aside.

use std::ffi::CString;

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};

#[derive(Clone, Default)]
pub struct OrderedEnvExecutor {
    /// Set on the process's terminal (its stdin) before the exec.
    pub window: Option<libc::winsize>,
}

fn cstrings(v: &[String]) -> Result<Vec<CString>, ExecutorError> {
    v.iter()
        .map(|s| CString::new(s.as_bytes()).map_err(|_| ExecutorError::InvalidArg))
        .collect()
}

impl Executor for OrderedEnvExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let process = spec.process().as_ref().ok_or(ExecutorError::InvalidArg)?;
        let args = process
            .args()
            .as_ref()
            .filter(|a| !a.is_empty())
            .ok_or(ExecutorError::InvalidArg)?;
        let env = process.env().clone().unwrap_or_default();
        if let Some(ws) = &self.window {
            crate::term::set_window_size(0, ws);
        }
        let argv = cstrings(args)?;
        let envp = cstrings(&env)?;
        // Rust's runtime ignores SIGPIPE in the monitor (and `exec`'s CLI),
        // and an ignored signal survives exec: the command would get EPIPE
        // instead of dying, so `yes | head` spins forever. runc's command
        // starts with every disposition at its default, as here.
        // SAFETY: setting a signal's disposition to its default runs no
        // handler and touches no memory of ours.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        // execvpe looks the program up in the PATH libcontainer already set.
        nix::unistd::execvpe(&argv[0], &argv, &envp)
            .map_err(|e| ExecutorError::Execution(format!("exec {:?}: {e}", args[0]).into()))?;
        unreachable!("execvpe returned without error");
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }
}

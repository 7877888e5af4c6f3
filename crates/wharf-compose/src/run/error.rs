//! Errors of running a project, worded as Docker Compose v2 words them.
//! Compose exits 1 on all of them; a container's own exit code travels
//! as [`RunError::Exit`] (`run`, `up --exit-code-from`).

use thiserror::Error;
use wharf_engine::EngineError;

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Load(#[from] crate::ComposeError),
    /// What the engine refused; Compose shows the daemon's answer so.
    #[error("Error response from daemon: {0}")]
    Engine(#[from] EngineError),
    /// A build failed (Compose prints BuildKit's `failed to solve`).
    #[error("failed to solve: {0}")]
    Build(String),
    /// Compose's own checks (flags, model, dependencies).
    #[error("{0}")]
    Invalid(String),
    /// A wait ran out of time.
    #[error("timeout waiting for dependencies")]
    Timeout,
    /// A container's exit code becomes Compose's (with a message or not).
    #[error("{message}")]
    Exit { code: i32, message: String },
}

impl RunError {
    /// Compose's exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Exit { code, .. } => *code,
            _ => 1,
        }
    }

    /// The engine error inside, if that is what it is.
    pub fn engine(&self) -> Option<&EngineError> {
        match self {
            RunError::Engine(e) => Some(e),
            _ => None,
        }
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> RunError {
    RunError::Invalid(msg.into())
}

pub type RunResult<T> = Result<T, RunError>;

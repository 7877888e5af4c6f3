//! The builder's error type.

use wharf_oci::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile, a flag or a build argument is wrong.
    #[error("{0}")]
    Invalid(String),
    /// A base image, stage or source file does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A RUN step's command failed.
    #[error("{0}")]
    StepFailed(String),
    /// A RUN step's command exited non-zero (`at`: its Dockerfile
    /// location, `Dockerfile:7: `, once known).
    #[error("{at}process \"{command}\" did not complete successfully: exit code: {code}")]
    RunFailed {
        at: String,
        command: String,
        code: i32,
    },
    #[error(transparent)]
    Image(#[from] wharf_image::ImageError),
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
    /// A cache import or export from or to a registry failed.
    #[error(transparent)]
    Registry(#[from] wharf_registry::RegistryError),
    #[error("{context}: {}", wharf_oci::OsError(source))]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// An error from the engine's side (pulling, running a step).
    #[error("{message}")]
    Host { message: String, kind: ErrorKind },
}

impl BuildError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            BuildError::Invalid(_) | BuildError::StepFailed(_) | BuildError::RunFailed { .. } => {
                ErrorKind::InvalidArgument
            }
            BuildError::NotFound(_) => ErrorKind::NotFound,
            BuildError::Image(e) => e.kind(),
            BuildError::Store(e) => e.kind(),
            BuildError::Registry(e) => e.kind(),
            BuildError::Io { .. } => ErrorKind::Internal,
            BuildError::Host { kind, .. } => *kind,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> BuildError {
        BuildError::Io {
            context: context.into(),
            source,
        }
    }

    /// Prefix the message with the Dockerfile location of the failing step.
    pub fn at(self, file: &str, line: usize) -> BuildError {
        let at = |m: String| format!("{file}:{line}: {m}");
        match self {
            BuildError::Invalid(m) => BuildError::Invalid(at(m)),
            BuildError::NotFound(m) => BuildError::NotFound(at(m)),
            BuildError::StepFailed(m) => BuildError::StepFailed(at(m)),
            BuildError::RunFailed { command, code, .. } => BuildError::RunFailed {
                at: format!("{file}:{line}: "),
                command,
                code,
            },
            BuildError::Host { message, kind } => BuildError::Host {
                message: at(message),
                kind,
            },
            other => BuildError::Invalid(at(other.to_string())),
        }
    }
}

pub type BuildResult<T> = Result<T, BuildError>;

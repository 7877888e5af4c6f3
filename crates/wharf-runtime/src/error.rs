//! The runtime's error type.

use std::path::PathBuf;

use wharf_oci::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("mounting {target}: {source}")]
    Mount {
        target: PathBuf,
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Unsupported(String),
    /// The container's command could not be started; `code` is docker's
    /// exit code for it (126 cannot execute, 127 not found, else 125).
    #[error("{message}")]
    Start { message: String, code: i32 },
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
}

impl RuntimeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RuntimeError::Unsupported(_) => ErrorKind::InvalidArgument,
            RuntimeError::Start {
                code: 126 | 127, ..
            } => ErrorKind::InvalidArgument,
            RuntimeError::Store(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> RuntimeError {
        RuntimeError::Io {
            context: context.into(),
            source,
        }
    }
}

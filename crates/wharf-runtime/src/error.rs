//! The runtime's error type.

use std::path::PathBuf;

use wharf_oci::ErrorKind;

/// Go's error text for an errno, as docker's messages carry it: strerror,
/// lower-cased (`no such file or directory`).
pub fn go_errno(e: nix::errno::Errno) -> String {
    let s = e.desc();
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// [`go_errno`] of an I/O error from the OS (others as they are).
pub fn go_io_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => go_errno(nix::errno::Errno::from_raw(n)),
        None => e.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("mounting {}: {}", target.display(), wharf_oci::OsError(source))]
    Mount {
        target: PathBuf,
        source: std::io::Error,
    },
    #[error("{context}: {}", wharf_oci::OsError(source))]
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

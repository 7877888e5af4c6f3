//! The logs module's error type.

use std::path::PathBuf;

use wharf_oci::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file operation on a log file failed; `op` says which
    /// ("opening", "reading", "writing", "rotating").
    #[error("{op} {}: {}", path.display(), wharf_oci::OsError(source))]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The sink [`read_logs`](super::read_logs) writes to failed (e.g. the
    /// reader of `logs` went away).
    #[error("writing logs: {}", wharf_oci::OsError(.0))]
    Sink(#[source] std::io::Error),
    /// A `--since`/`--until` value docker would not accept; the message is
    /// docker's: `invalid value for "since": ...`.
    #[error("invalid value for \"{flag}\": {reason}")]
    InvalidTime { flag: &'static str, reason: String },
    /// A `--log-opt` docker's json-file driver would not accept.
    #[error("{0}")]
    InvalidOption(String),
}

impl LogError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LogError::InvalidTime { .. } | LogError::InvalidOption(_) => ErrorKind::InvalidArgument,
            LogError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            LogError::Io { .. } | LogError::Sink(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> LogError {
        LogError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

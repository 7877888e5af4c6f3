//! The network crate's error type, with docker's kinds.

use wharf_oci::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The kernel refused (netlink, nftables, a namespace).
    #[error("{0}")]
    System(String),
    #[error("{context}: {}", wharf_oci::OsError(source))]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl NetworkError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            NetworkError::Store(e) => e.kind(),
            NetworkError::NotFound(_) => ErrorKind::NotFound,
            NetworkError::Conflict(_) => ErrorKind::Conflict,
            NetworkError::Invalid(_) => ErrorKind::InvalidArgument,
            NetworkError::System(_) | NetworkError::Io { .. } => ErrorKind::Internal,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> NetworkError {
        NetworkError::Io {
            context: context.into(),
            source,
        }
    }
}

pub type NetResult<T> = Result<T, NetworkError>;

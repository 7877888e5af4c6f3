//! The store's error type.

use std::path::PathBuf;

use wharf_oci::{Digest, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("blob {0} not found in the store")]
    BlobNotFound(Digest),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the store at {0} is corrupt: {1}")]
    Corrupt(PathBuf, String),
    /// A value that cannot be stored (it does not serialize).
    #[error("{0}")]
    Invalid(String),
    /// A state change the container lifecycle refuses.
    #[error(transparent)]
    Model(#[from] wharf_model::ModelError),
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::BlobNotFound(_) | StoreError::NotFound(_) => ErrorKind::NotFound,
            StoreError::Conflict(_) => ErrorKind::Conflict,
            StoreError::Model(e) => e.kind(),
            StoreError::Invalid(_) => ErrorKind::InvalidArgument,
            StoreError::Db(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                ErrorKind::Unavailable
            }
            _ => ErrorKind::Internal,
        }
    }

    pub fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> StoreError {
        StoreError::Io {
            context,
            path: path.into(),
            source,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

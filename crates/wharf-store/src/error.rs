//! The store's error type.

use std::path::PathBuf;

use wharf_oci::{Digest, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context} {}: {}", path.display(), wharf_oci::OsError(source))]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {}", db_text(.0))]
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

/// SQLite's error, but a full disk in docker's words (SQLite says
/// "database or disk is full").
fn db_text(e: &rusqlite::Error) -> String {
    if disk_full(e) {
        format!("writing the database: {}", wharf_oci::NO_SPACE)
    } else {
        e.to_string()
    }
}

fn disk_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

/// Whether `err`, or an error it wraps, says the disk (or a quota) is
/// full: a file write's ENOSPC or SQLite's full database. The engine then
/// names the operation that ran out of space.
pub fn out_of_space(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |e| e.source()).any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(wharf_oci::is_out_of_space)
            || e.downcast_ref::<rusqlite::Error>().is_some_and(disk_full)
            || e.downcast_ref::<rusqlite::ffi::Error>()
                .is_some_and(|f| f.code == rusqlite::ErrorCode::DiskFull)
    })
}

pub type StoreResult<T> = Result<T, StoreError>;

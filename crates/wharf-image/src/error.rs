//! The error type of image operations.

use wharf_oci::ErrorKind;

use crate::layer::LayerError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
    /// Malformed input: a corrupt archive, a digest mismatch, a bad change line.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{context}: {}", wharf_oci::OsError(source))]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl ImageError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImageError::Layer(e) => e.kind(),
            ImageError::Store(e) => e.kind(),
            ImageError::Invalid(_) => ErrorKind::InvalidArgument,
            ImageError::NotFound(_) => ErrorKind::NotFound,
            ImageError::Io { .. } => ErrorKind::Internal,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> ImageError {
        ImageError::Io {
            context: context.into(),
            source,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> ImageError {
        ImageError::Invalid(msg.into())
    }
}

pub type ImageResult<T> = Result<T, ImageError>;

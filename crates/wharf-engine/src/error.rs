//! The engine's error type: the lower crates' errors plus docker's own
//! conflict and lookup messages.

use wharf_oci::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Image(#[from] wharf_image::ImageError),
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
    #[error(transparent)]
    Reference(#[from] wharf_oci::ReferenceError),
    #[error(transparent)]
    Network(#[from] wharf_network::NetworkError),
    #[error(transparent)]
    Registry(#[from] wharf_registry::RegistryError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The container could not be started; `code` is docker's exit code.
    #[error("{message}")]
    Start { message: String, code: i32 },
    #[error("{context}: {}", wharf_oci::OsError(source))]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// An operation that ran out of disk space: `operation` names it and
    /// its object ("committing container web"); the cause ends in docker's
    /// `no space left on device`. Made by [`FullDisk::naming`].
    #[error("{operation}: {source}")]
    NoSpace {
        operation: String,
        source: Box<EngineError>,
    },
}

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Image(e) => e.kind(),
            EngineError::Store(e) => e.kind(),
            EngineError::Network(e) => e.kind(),
            EngineError::Registry(e) => e.kind(),
            EngineError::Reference(_) | EngineError::Invalid(_) => ErrorKind::InvalidArgument,
            EngineError::NotFound(_) => ErrorKind::NotFound,
            EngineError::Conflict(_) => ErrorKind::Conflict,
            EngineError::Start { .. } => ErrorKind::InvalidArgument,
            EngineError::Io { .. } => ErrorKind::Internal,
            EngineError::NoSpace { source, .. } => source.kind(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> EngineError {
        EngineError::Io {
            context: context.into(),
            source,
        }
    }
}

impl EngineError {
    /// Docker's exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Start { code, .. } => *code,
            EngineError::NoSpace { source, .. } => source.exit_code(),
            _ => 125,
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

/// Naming the operation whose error says the disk is full: a user told
/// only "writing /var/lib/…/tmp/blob-3-1: no space left on device" cannot
/// tell which of pull, load or run filled it.
pub trait FullDisk {
    /// The error as [`EngineError::NoSpace`] with `operation` ("pulling
    /// busybox:latest") when it (or what it wraps) is a full disk;
    /// unchanged otherwise.
    fn naming(self, operation: impl FnOnce() -> String) -> Self;
}

impl<T> FullDisk for EngineResult<T> {
    fn naming(self, operation: impl FnOnce() -> String) -> Self {
        self.map_err(|e| {
            if wharf_store::out_of_space(&e) && !matches!(e, EngineError::NoSpace { .. }) {
                EngineError::NoSpace {
                    operation: operation(),
                    source: Box::new(e),
                }
            } else {
                e
            }
        })
    }
}

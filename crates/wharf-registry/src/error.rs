//! The registry client's error type. Messages name the registry and, where
//! known, the image, the way docker's daemon words them.

use wharf_oci::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached or did not answer (DNS, refused
    /// connection, TLS, timeout, a dropped connection).
    #[error("{0}")]
    Unreachable(String),
    /// The registry refused the credentials, or the user has none.
    #[error("{0}")]
    Unauthorized(String),
    /// A manifest, blob or repository the registry does not have.
    #[error("{0}")]
    NotFound(String),
    /// The registry answered something wharf cannot use: an error status,
    /// a malformed or unsupported manifest, a digest mismatch.
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Image(#[from] wharf_image::ImageError),
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
    #[error("{context}: {}", wharf_oci::OsError(source))]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl RegistryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Unreachable(_) => ErrorKind::Unavailable,
            RegistryError::Unauthorized(_) | RegistryError::Protocol(_) => ErrorKind::Unavailable,
            RegistryError::NotFound(_) => ErrorKind::NotFound,
            RegistryError::Invalid(_) => ErrorKind::InvalidArgument,
            RegistryError::Image(e) => e.kind(),
            RegistryError::Store(e) => e.kind(),
            RegistryError::Io { .. } => ErrorKind::Internal,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> RegistryError {
        RegistryError::Io {
            context: context.into(),
            source,
        }
    }

    /// Prefix the message with what was being done (`pull of x: ...`),
    /// keeping the kind.
    pub fn context(self, what: &str) -> RegistryError {
        let wrap = |m: String| format!("{what}: {m}");
        match self {
            RegistryError::Unreachable(m) => RegistryError::Unreachable(wrap(m)),
            RegistryError::Unauthorized(m) => RegistryError::Unauthorized(wrap(m)),
            RegistryError::NotFound(m) => RegistryError::NotFound(wrap(m)),
            RegistryError::Protocol(m) => RegistryError::Protocol(wrap(m)),
            RegistryError::Invalid(m) => RegistryError::Invalid(wrap(m)),
            other => other,
        }
    }

    /// [`RegistryError::context`] unless the message already names `name`.
    pub(crate) fn naming(self, name: &str, what: &str) -> RegistryError {
        if self.to_string().contains(name) {
            self
        } else {
            self.context(what)
        }
    }

    /// Worth another try: the network failed, or the registry said 5xx/429.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, RegistryError::Unreachable(_))
    }
}

pub type RegistryResult<T> = Result<T, RegistryError>;

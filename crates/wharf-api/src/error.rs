//! The API's errors: what a handler can fail with, and how docker puts
//! each on the wire (`{"message": ...}` with its status code).

use http::StatusCode;
use wharf_engine::{EngineError, ErrorKind};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A malformed request: bad JSON, a bad parameter (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such route or object (404).
    #[error("{0}")]
    NotFound(String),
    /// The object's state forbids it (409).
    #[error("{0}")]
    Conflict(String),
    /// Something this server does not offer (503, as docker answers
    /// swarm requests off a swarm).
    #[error("{0}")]
    Unavailable(String),
    /// The request body is over the limit (413).
    #[error("request body too large (limit {0} bytes)")]
    TooLarge(usize),
    #[error("{context}: {}", wharf_oci::OsError(source))]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// A blocking task died (a bug).
    #[error("internal error: {0}")]
    Task(String),
}

impl ApiError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> ApiError {
        ApiError::Io {
            context: context.into(),
            source,
        }
    }

    /// Docker's status code for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Engine(e) => match e.kind() {
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::Conflict => StatusCode::CONFLICT,
                ErrorKind::InvalidArgument => match e {
                    // A start that failed inside the container is the
                    // daemon's 500 in docker (the CLI exits 125/126/127
                    // from the message either way).
                    EngineError::Start { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                },
                ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Io { .. } | ApiError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Why `wharf serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("invalid -H address {0:?}: {1}")]
    BadAddress(String, String),
    /// A tcp listener reachable from other hosts needs client certificates.
    #[error("refusing to listen on {0} without --tlsverify: anyone who can reach it would control this host (listen on 127.0.0.1, or pass --tlsverify --tlscacert --tlscert --tlskey)")]
    Insecure(String),
    #[error("no such group: {0}")]
    NoSuchGroup(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{context}: {}", wharf_oci::OsError(source))]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ServeError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> ServeError {
        ServeError::Io {
            context: context.into(),
            source,
        }
    }
}

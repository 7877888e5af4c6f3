//! Errors of loading a compose project, worded as Docker Compose v2 words
//! them (one line each, no wrapping chain), with a kind for callers.

use thiserror::Error;

/// What went wrong, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No compose file found, or a file or directory named does not exist.
    NotFound,
    /// The YAML text does not parse.
    Syntax,
    /// The model is invalid: schema, references, cycles, interpolation.
    Invalid,
    /// Reading a file failed.
    Io,
}

#[derive(Debug, Error)]
pub enum ComposeError {
    #[error("no configuration file provided: not found")]
    NoConfigFile,
    #[error("failed to parse {file}: yaml: line {line}, column {column}: {message}")]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("failed to parse {file}: line {line}: mapping key \"{key}\" already defined at line {first}")]
    DuplicateKey {
        file: String,
        line: usize,
        key: String,
        first: usize,
    },
    #[error("non-string key {}: {key}", if .location.is_empty() { "at top level".to_string() } else { format!("in {}", .location) })]
    NonStringKey { location: String, key: String },
    #[error("open {path}: no such file or directory")]
    FileNotFound { path: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A model error whose text is Compose's own.
    #[error("{0}")]
    Invalid(String),
}

impl ComposeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ComposeError::NoConfigFile
            | ComposeError::FileNotFound { .. }
            | ComposeError::NotFound { .. } => ErrorKind::NotFound,
            ComposeError::Yaml { .. }
            | ComposeError::DuplicateKey { .. }
            | ComposeError::NonStringKey { .. } => ErrorKind::Syntax,
            ComposeError::Io { .. } => ErrorKind::Io,
            ComposeError::Invalid(_) => ErrorKind::Invalid,
        }
    }

    /// Docker Compose exits 1 on every loading error.
    pub fn exit_code(&self) -> u8 {
        1
    }

    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            return ComposeError::FileNotFound { path };
        }
        ComposeError::Io { path, source }
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> ComposeError {
    ComposeError::Invalid(msg.into())
}

pub type Result<T, E = ComposeError> = std::result::Result<T, E>;

//! The one error type of this crate.

/// Everything that can go wrong while formatting.
///
/// The messages mimic what the Go tools behind the docker CLI print, e.g.
/// `template: :1: unexpected "}" in operand` or `invalid size: 'x'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The `--format` template does not parse (Go's `template.Parse` error).
    #[error("{0}")]
    Parse(String),
    /// The template parsed but failed while executing (Go's `ExecError`).
    #[error("{0}")]
    Exec(String),
    /// A human-readable size (`64m`, `1.5GB`) could not be parsed.
    #[error("{0}")]
    InvalidSize(String),
    /// Output that must be held in memory (a value a template function
    /// made, a table before alignment) outgrew its bound.
    #[error("{0}")]
    TooLarge(String),
    /// Writing the output failed (e.g. a closed pipe: `kind` is
    /// `BrokenPipe`).
    #[error("writing output: {message}")]
    Write {
        kind: std::io::ErrorKind,
        message: String,
    },
}

impl From<std::io::Error> for FormatError {
    fn from(e: std::io::Error) -> Self {
        FormatError::Write {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

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
}

//! The error classification shared by all wharf crates.

/// What kind of failure an error is, independent of which crate raised it.
/// The CLI maps kinds to exit codes and message prefixes, the API server to
/// HTTP status codes, so every crate's error type exposes `kind()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The named object (image, container, layer, blob ...) does not exist.
    NotFound,
    /// The operation conflicts with the current state (name in use, image in use).
    Conflict,
    /// The caller passed something malformed (bad reference, corrupt tar ...).
    InvalidArgument,
    /// A resource the operation needs is not reachable right now.
    Unavailable,
    /// A bug or an unexpected host failure (I/O, database).
    Internal,
}

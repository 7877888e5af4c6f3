//! The model's errors: a refused state change, or a value that breaks
//! Docker's rules.

use wharf_oci::ErrorKind;

use crate::Status;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A move the lifecycle does not allow.
    #[error("a {from} container cannot become {to}")]
    Transition { from: Status, to: Status },
    /// A value Docker would refuse; the message is Docker's.
    #[error("{0}")]
    Invalid(String),
    /// A `--filter` argument without `=` (the docker CLI's usage error).
    #[error("invalid argument \"{0}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)")]
    FilterFormat(String),
}

impl ModelError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ModelError::Transition { .. } => ErrorKind::Conflict,
            ModelError::Invalid(_) | ModelError::FilterFormat(_) => ErrorKind::InvalidArgument,
        }
    }
}

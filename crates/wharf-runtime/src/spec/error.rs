//! Why a spec could not be built. Messages are Docker's, word for word, where
//! Docker has one: users compare them with what `docker run` prints.

use std::path::PathBuf;

use wharf_oci::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Neither the image nor `run` gave a command (docker exits 125).
    #[error("no command specified")]
    NoCommand,
    /// A malformed or out-of-range option; the message is Docker's.
    #[error("{0}")]
    Invalid(String),
    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    #[error(
        "capability not supported by your kernel or not available in the current environment: {0:?}"
    )]
    UnavailableCapability(String),
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UserNotFound(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    GroupNotFound(String),
    /// `--group-add` naming a group the image lacks (docker's daemon
    /// words it, capitalized, unlike runc's `-u user:group` one).
    #[error("Unable to find group {0}: no matching entries in group file")]
    AddGroupNotFound(String),
    #[error("--init requires an init binary (none found)")]
    NoInitBinary,
    #[error("opening seccomp profile ({path}) failed: {source}")]
    SeccompProfileOpen {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Decoding seccomp profile failed: {0}")]
    SeccompProfile(String),
    /// Reading a file of the image (passwd, group) failed for a reason other
    /// than its absence.
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// oci-spec refused a value we built: a bug.
    #[error("building the OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

impl SpecError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SpecError::Io { .. } | SpecError::Oci(_) => ErrorKind::Internal,
            _ => ErrorKind::InvalidArgument,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> SpecError {
        SpecError::Invalid(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_errors_are_invalid_argument_and_read_like_docker() {
        let e = SpecError::UnknownCapability("CAP_FOO".into());
        assert_eq!(e.to_string(), r#"unknown capability: "CAP_FOO""#);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = SpecError::UserNotFound("bob".into());
        assert_eq!(
            e.to_string(),
            "unable to find user bob: no matching entries in passwd file"
        );
        let e = SpecError::Io {
            path: "/x/etc/passwd".into(),
            source: std::io::Error::from_raw_os_error(libc::EIO),
        };
        assert_eq!(e.kind(), ErrorKind::Internal);
    }
}

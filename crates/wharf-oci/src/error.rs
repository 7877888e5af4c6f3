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

/// An OS error as the user reads it. A full disk or quota is worded as
/// docker words it, Go's lowercase `no space left on device` (`disk quota
/// exceeded`), where Rust says `No space left on device (os error 28)`;
/// a wrapped one (a tar writer's "failed to unpack `x`") gets that cause
/// added, since its own text leaves it out. Anything else shows as std
/// shows it. Every crate's I/O error kind displays its cause through this.
pub struct OsError<'a>(pub &'a std::io::Error);

impl std::fmt::Display for OsError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.0;
        let Some(cause) = space_cause(e) else {
            return e.fmt(f);
        };
        if e.raw_os_error().is_some() {
            f.write_str(cause)
        } else {
            let text = e.to_string();
            if text.ends_with(cause) {
                f.write_str(&text)
            } else {
                write!(f, "{text}: {cause}")
            }
        }
    }
}

/// Docker's words for an error that says the disk (or a quota) is full.
fn space_cause(e: &std::io::Error) -> Option<&'static str> {
    match (e.raw_os_error(), e.kind()) {
        (Some(libc_enospc::ENOSPC), _) | (None, std::io::ErrorKind::StorageFull) => Some(NO_SPACE),
        (Some(libc_enospc::EDQUOT), _) | (None, std::io::ErrorKind::QuotaExceeded) => {
            Some("disk quota exceeded")
        }
        _ => None,
    }
}

/// How docker (Go's `syscall.ENOSPC`) ends a full-disk error.
pub const NO_SPACE: &str = "no space left on device";

/// Whether `e` says the disk (or a quota) is full.
pub fn is_out_of_space(e: &std::io::Error) -> bool {
    space_cause(e).is_some()
}

/// Linux's numbers (this crate has no libc dependency).
mod libc_enospc {
    pub const ENOSPC: i32 = 28;
    pub const EDQUOT: i32 = 122;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_worded_as_docker_words_it() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert_eq!(OsError(&enospc).to_string(), "no space left on device");
        assert!(is_out_of_space(&enospc));
        let edquot = std::io::Error::from_raw_os_error(122);
        assert_eq!(OsError(&edquot).to_string(), "disk quota exceeded");
        // A wrapped one (tar's "failed to unpack") gets the cause added.
        let wrapped = std::io::Error::new(std::io::ErrorKind::StorageFull, "failed to unpack `x`");
        assert_eq!(
            OsError(&wrapped).to_string(),
            "failed to unpack `x`: no space left on device"
        );
        let other = std::io::Error::from_raw_os_error(2);
        assert_eq!(OsError(&other).to_string(), other.to_string());
        assert!(!is_out_of_space(&other));
    }
}

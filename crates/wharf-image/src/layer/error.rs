//! Errors of layer apply/diff, split by whose fault they are: the tar's
//! (InvalidArgument, the layer is bad or hostile) or the host's (Internal).

use std::io;
use std::path::PathBuf;

use wharf_oci::ErrorKind;

#[derive(thiserror::Error, Debug)]
pub enum LayerError {
    /// The stream is not a well-formed tar (corrupt header, truncated data,
    /// broken compression underneath).
    #[error("invalid layer tar: {0}")]
    Corrupt(String),
    /// One entry is malformed or unsafe (escapes the root, bad whiteout ...).
    #[error("invalid layer tar: entry {entry:?}: {reason}")]
    Entry { entry: String, reason: String },
    /// Reading the input stream failed for a reason that is not the tar's
    /// content (the underlying file or connection failed).
    #[error("reading layer stream: {}", wharf_oci::OsError(.0))]
    Read(#[source] io::Error),
    /// A filesystem operation on the destination or source tree failed.
    #[error("{op} {}: {}", path.display(), wharf_oci::OsError(source))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Writing the produced tar failed.
    #[error("writing layer tar: {}", wharf_oci::OsError(.0))]
    Write(#[source] io::Error),
    /// The tree uses something a layer tar cannot express faithfully
    /// (overlay redirect_dir / metacopy xattrs).
    #[error("cannot diff {}: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
}

impl LayerError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LayerError::Corrupt(_) | LayerError::Entry { .. } => ErrorKind::InvalidArgument,
            LayerError::Read(_)
            | LayerError::Io { .. }
            | LayerError::Write(_)
            | LayerError::Unsupported { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn entry(name: &[u8], reason: impl Into<String>) -> LayerError {
        LayerError::Entry {
            entry: String::from_utf8_lossy(name).into_owned(),
            reason: reason.into(),
        }
    }

    /// Classifies an error from reading the tar stream. The tar crate and the
    /// decompressors report format problems with these kinds; anything else
    /// came from the reader itself.
    pub(crate) fn from_read(err: io::Error) -> LayerError {
        match err.kind() {
            io::ErrorKind::UnexpectedEof => {
                LayerError::Corrupt("unexpected end of archive".to_string())
            }
            io::ErrorKind::Other | io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
                let msg = err.to_string();
                // The tar crate's wording for a stream cut short.
                if msg.contains("failed to read entire block") || msg.contains("unexpected EOF") {
                    LayerError::Corrupt(format!("unexpected end of archive ({msg})"))
                } else {
                    LayerError::Corrupt(msg)
                }
            }
            _ => LayerError::Read(err),
        }
    }
}

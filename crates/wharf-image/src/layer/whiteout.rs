//! The two whiteout dialects and the mapping between them.
//!
//! In a layer tar (OCI/Docker, inherited from aufs) a deletion is an empty
//! file `.wh.NAME` next to the deleted `NAME`, and "hide everything the lower
//! layers had in this directory" is an empty file `DIR/.wh..wh..opq`.
//! On disk we keep layers in overlayfs's own format so a layer directory can
//! be a lowerdir as is: a deletion is a 0:0 character device named `NAME`,
//! an opaque directory carries the xattr `trusted.overlay.opaque=y`.

use std::ffi::CStr;

pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// aufs reserved names (`.wh..wh.plnk`, `.wh..wh.aufs` ...); only the opaque
/// marker means something to us.
pub const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// Every overlayfs-private xattr lives here; they describe one particular
/// overlay mount, so they never travel in a tar in either direction.
pub const OVERLAY_XATTR_PREFIX: &[u8] = b"trusted.overlay.";
pub const OVERLAY_OPAQUE_XATTR: &CStr = c"trusted.overlay.opaque";
/// Set by overlayfs when redirect_dir / metacopy are on: the content or
/// identity of the entry then lives in a lower layer, which a diff cannot
/// represent.
pub const OVERLAY_REDIRECT_XATTR: &[u8] = b"trusted.overlay.redirect";
pub const OVERLAY_METACOPY_XATTR: &[u8] = b"trusted.overlay.metacopy";

/// What a tar entry's base name means to the whiteout rules.
#[derive(Debug, PartialEq, Eq)]
pub enum TarName<'a> {
    /// An ordinary file name.
    Plain,
    /// `.wh.NAME`: NAME is deleted.
    Whiteout(&'a [u8]),
    /// `.wh..wh..opq`: the containing directory is opaque.
    Opaque,
    /// Other `.wh..wh.*` aufs bookkeeping, to be ignored.
    Meta,
}

pub fn classify(base: &[u8]) -> TarName<'_> {
    if base == OPAQUE_MARKER {
        TarName::Opaque
    } else if base.starts_with(WHITEOUT_META_PREFIX) {
        TarName::Meta
    } else if let Some(name) = base.strip_prefix(WHITEOUT_PREFIX) {
        TarName::Whiteout(name)
    } else {
        TarName::Plain
    }
}

/// Whether `parent` (a cleaned path) lies inside an aufs metadata directory
/// such as `.wh..wh.plnk/`, whose contents are not part of the image.
pub fn in_meta_dir(parent: &[u8]) -> bool {
    parent
        .split(|&b| b == b'/')
        .any(|c| c.starts_with(WHITEOUT_META_PREFIX))
}

/// overlayfs's whiteout: a character device with device number 0:0.
pub fn is_overlay_whiteout(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_names() {
        assert_eq!(classify(b"passwd"), TarName::Plain);
        assert_eq!(classify(b".wh.passwd"), TarName::Whiteout(b"passwd"));
        assert_eq!(classify(b".wh..wh..opq"), TarName::Opaque);
        assert_eq!(classify(b".wh..wh.plnk"), TarName::Meta);
        assert!(in_meta_dir(b"a/.wh..wh.plnk"));
        assert!(!in_meta_dir(b"a/.wh.b"));
    }
}

//! Layer tars: applying them to disk and producing them from disk.
//!
//! **On-disk format.** An applied layer is a directory in overlayfs's own
//! format, so it can serve as a lowerdir unchanged and a container's upper
//! dir can be diffed without a merge step: a deleted name is a 0:0 character
//! device, an opaque directory has `trusted.overlay.opaque=y`. The tar side
//! uses the OCI/Docker `.wh.` names; [`whiteout`] maps between the two.
//! Other `trusted.overlay.*` xattrs belong to one particular mount and never
//! cross into or out of a tar. Directories written by [`write_layer`] must come
//! from an overlay mounted with `redirect_dir=off,metacopy=off` (as docker's
//! overlay2 does), since a redirected directory or metadata-only copy-up
//! cannot be expressed in a tar; such trees are refused.
//!
//! **Security.** A layer is untrusted input and must not write outside its
//! destination. [`apply_layer`] rejects absolute names and `..` outright,
//! and since the destination starts empty, it knows every symlink that exists
//! there: it created them. Entry parents are resolved lexically against that
//! table (following in-root relative links like docker does, rejecting links
//! that are absolute or climb out), so the path handed to the kernel is
//! symlink-free by construction. As a second line of defence every syscall is
//! relative to a directory fd opened component by component with O_NOFOLLOW,
//! and files are created with O_EXCL|O_NOFOLLOW, so a mistake in the table
//! yields an error rather than an escape. [`write_layer`] walks the same way,
//! so a tree being modified under it cannot make it read files outside it.
//!
//! **Speed.** Extraction is a few syscalls per entry with no stat in the
//! common case (conflicts are detected by EEXIST), one cached parent dir fd,
//! reused buffers, large copies and no fsync: the store makes the result
//! durable as a whole.

mod apply;
mod diff;
mod error;
mod path;
mod sys;
mod tar_out;
mod tree;
pub mod whiteout;

#[cfg(test)]
mod tests;

pub use apply::apply_layer;
pub use diff::write_layer;
pub use error::LayerError;

/// What applying a layer produced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyStats {
    /// Bytes of regular file content written (hard links counted once),
    /// which is how docker reports a layer's size.
    pub size: u64,
    /// Tar entries processed, whiteouts and directories included.
    pub entries: u64,
}

/// How [`write_layer`] treats overlay whiteouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffOptions {
    /// Convert overlay whiteouts and opaque directories to `.wh.` entries:
    /// true for a layer diff of an upper dir, false when exporting a plain
    /// tree (such as a whole rootfs).
    pub whiteouts: bool,
}

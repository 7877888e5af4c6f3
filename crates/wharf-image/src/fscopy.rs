//! Copying files into and out of root filesystems (`docker cp`, the
//! builder's COPY/ADD).
//!
//! Paths inside a root are resolved as a chrooted process would see them:
//! symlinks are followed, but absolute targets and `..` stay inside the
//! root. Writing never follows a symlink that is already at the
//! destination: it is replaced, so the tree being written into cannot
//! redirect a copy onto the host.
//!
//! [`resolve_in_root`] gives a path, which is only as good as the tree
//! staying still. A tree someone else may be changing (a running
//! container's, `docker cp`) is looked up with [`RootView`], which also
//! crosses into the container's mounts, and copied with [`copy_fd`]: both
//! hold every directory open and never follow a symlink the tree holds.

mod at;
mod view;

use std::fs;
use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};

pub use at::{copy_fd, open_dir, open_parent, open_source, Dest};
pub use view::{Entry, Lookup, RootView};

use crate::ImageResult;

/// Symlinks followed in one lookup before giving up, as Linux does.
pub const MAX_LINKS: usize = 40;

/// A path's normal and `..` components, last first (a walk pops them);
/// `/` and `.` say nothing once the walk starts at the root.
fn pending(path: &Path) -> Vec<std::ffi::OsString> {
    path.components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// Resolve `path` inside `root` the way a chrooted process would. The
/// result holds no symlink (a chain longer than the kernel follows is an
/// error, never a link left for the kernel to follow out of the root).
pub fn resolve_in_root(root: &Path, path: &str) -> ImageResult<PathBuf> {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    let mut pending = pending(Path::new(path));
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            parts.pop();
            continue;
        }
        let candidate: PathBuf = parts.iter().chain(std::iter::once(&part)).collect();
        match fs::read_link(root.join(&candidate)) {
            Ok(_) if hops == MAX_LINKS => {
                return Err(crate::ImageError::invalid(format!(
                    "{path}: too many levels of symbolic links"
                )))
            }
            Ok(target) => {
                hops += 1;
                if target.is_absolute() {
                    parts.clear();
                }
                pending.extend(self::pending(&target));
            }
            Err(_) => parts.push(part),
        }
    }
    Ok(root.join(parts.iter().collect::<PathBuf>()))
}

/// How [`copy_tree`] sets what it creates.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Owner for everything copied; `None` keeps the source's.
    pub owner: Option<(u32, u32)>,
    /// Permission bits for everything copied (COPY --chmod); `None` keeps
    /// the source's.
    pub mode: Option<u32>,
}

/// Copy `src` to `dst`, recursively, keeping modes, owners (unless
/// overridden), modification times and symlinks; an existing directory at
/// `dst` is merged into, anything else there is replaced.
pub fn copy_tree(src: &Path, dst: &Path, opts: &CopyOptions) -> ImageResult<()> {
    copy_tree_filtered(src, dst, opts, &|_| true)
}

/// [`copy_tree`], skipping the source entries (and whatever is below them)
/// for which `keep` is false. Below `src` and the directory holding `dst`,
/// everything is reached through fds ([`at`]).
pub fn copy_tree_filtered(
    src: &Path,
    dst: &Path,
    opts: &CopyOptions,
    keep: &dyn Fn(&Path) -> bool,
) -> ImageResult<()> {
    let from = open_source(src)?;
    let (dir, name) = open_parent(dst)?;
    at::Copier { opts, keep }.copy(from.as_fd(), src, Dest::In(dir.as_fd(), name), dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    #[test]
    fn resolves_like_chroot() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("usr/bin")).unwrap();
        symlink("usr/bin", r.join("bin")).unwrap();
        symlink("/etc/passwd", r.join("abs")).unwrap();
        symlink("../../..", r.join("usr/bin/up")).unwrap();
        let at = |p| resolve_in_root(r, p).unwrap();
        assert_eq!(at("/bin/x"), r.join("usr/bin/x"));
        assert_eq!(at("abs"), r.join("etc/passwd"));
        assert_eq!(at("/usr/bin/up/etc"), r.join("etc"));
        assert_eq!(at("../../x"), r.join("x"));
        // A chain one link longer than the kernel follows, ending outside
        // the root: an error, not a path through the last link.
        symlink(d.path(), r.join("a40")).unwrap();
        for i in 0..40 {
            symlink(format!("/a{}", i + 1), r.join(format!("a{i}"))).unwrap();
        }
        assert!(resolve_in_root(r, "/a1/x").is_ok());
        assert!(resolve_in_root(r, "/a0/x").is_err());
    }

    #[test]
    fn copies_with_overrides_and_times() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/f"), "x").unwrap();
        symlink("sub/f", src.join("l")).unwrap();
        let dst = d.path().join("dst");
        let opts = CopyOptions {
            owner: Some((1, 2)),
            mode: Some(0o600),
        };
        copy_tree(&src, &dst, &opts).unwrap();
        let m = fs::metadata(dst.join("sub/f")).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (1, 2, 0o600));
        assert_eq!(m.mtime(), fs::metadata(src.join("sub/f")).unwrap().mtime());
        assert_eq!(fs::read_link(dst.join("l")).unwrap(), Path::new("sub/f"));
    }

    #[test]
    fn replaces_links_at_the_destination_and_remakes_fifos() {
        let d = tempfile::tempdir().unwrap();
        let (src, dst, outside) = (
            d.path().join("src"),
            d.path().join("dst"),
            d.path().join("outside"),
        );
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/f"), "x").unwrap();
        fs::write(src.join("g"), "y").unwrap();
        nix::unistd::mkfifo(
            &src.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o640),
        )
        .unwrap();
        fs::create_dir_all(dst.join("old/deep")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        symlink(&outside, dst.join("sub")).unwrap();
        symlink(outside.join("g"), dst.join("g")).unwrap();
        symlink(&outside, dst.join("old/deep/l")).unwrap();
        copy_tree(&src, &dst, &CopyOptions::default()).unwrap();
        assert!(
            fs::read_dir(&outside).unwrap().next().is_none(),
            "nothing written outside"
        );
        assert_eq!(fs::read_to_string(dst.join("sub/f")).unwrap(), "x");
        assert!(fs::symlink_metadata(dst.join("sub")).unwrap().is_dir());
        assert_eq!(fs::read_to_string(dst.join("g")).unwrap(), "y");
        let fifo = fs::symlink_metadata(dst.join("fifo")).unwrap();
        assert_eq!(fifo.mode() & 0o170777, libc::S_IFIFO | 0o640);
        // A directory replaced by a file goes with all below it, links
        // removed, not followed.
        fs::write(src.join("old"), "z").unwrap();
        copy_tree(&src.join("old"), &dst.join("old"), &CopyOptions::default()).unwrap();
        assert_eq!(fs::read_to_string(dst.join("old")).unwrap(), "z");
        assert!(outside.exists());
    }
}

//! Copying files into and out of root filesystems (`docker cp`, the
//! builder's COPY/ADD).
//!
//! Paths inside a root are resolved as a chrooted process would see them:
//! symlinks are followed, but absolute targets and `..` stay inside the
//! root. Writing never follows a symlink that is already at the
//! destination: it is replaced, so the tree being written into cannot
//! redirect a copy onto the host.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::{ImageError, ImageResult};

/// Resolve `path` inside `root` the way a chrooted process would.
pub fn resolve_in_root(root: &Path, path: &str) -> PathBuf {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    let mut pending: Vec<std::ffi::OsString> = Path::new(path)
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            parts.pop();
            continue;
        }
        let candidate: PathBuf = parts.iter().chain(std::iter::once(&part)).collect();
        match fs::read_link(root.join(&candidate)) {
            Ok(target) if hops < 40 => {
                hops += 1;
                if target.is_absolute() {
                    parts.clear();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => pending.push(n.to_os_string()),
                        Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => parts.push(part),
        }
    }
    root.join(parts.iter().collect::<PathBuf>())
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

fn io(what: &str, p: &Path, e: std::io::Error) -> ImageError {
    ImageError::io(format!("{what} {}", p.display()), e)
}

/// Copy `src` to `dst`, recursively, keeping modes, owners (unless
/// overridden), modification times and symlinks; an existing directory at
/// `dst` is merged into, anything else there is replaced.
pub fn copy_tree(src: &Path, dst: &Path, opts: &CopyOptions) -> ImageResult<()> {
    copy_tree_filtered(src, dst, opts, &|_| true)
}

/// [`copy_tree`], skipping the source entries (and whatever is below them)
/// for which `keep` is false.
pub fn copy_tree_filtered(
    src: &Path,
    dst: &Path,
    opts: &CopyOptions,
    keep: &dyn Fn(&Path) -> bool,
) -> ImageResult<()> {
    let meta = fs::symlink_metadata(src).map_err(|e| io("reading", src, e))?;
    if let Ok(existing) = fs::symlink_metadata(dst) {
        let keep = existing.is_dir() && meta.is_dir();
        if !keep {
            if existing.is_dir() {
                fs::remove_dir_all(dst).map_err(|e| io("replacing", dst, e))?;
            } else {
                fs::remove_file(dst).map_err(|e| io("replacing", dst, e))?;
            }
        }
    }
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(src).map_err(|e| io("reading", src, e))?;
        symlink(&target, dst).map_err(|e| io("creating", dst, e))?;
    } else if ft.is_dir() {
        if !dst.is_dir() {
            fs::create_dir(dst).map_err(|e| io("creating", dst, e))?;
        }
        for e in fs::read_dir(src)
            .map_err(|e| io("reading", src, e))?
            .flatten()
        {
            let p = e.path();
            if keep(&p) {
                copy_tree_filtered(&p, &dst.join(e.file_name()), opts, keep)?;
            }
        }
    } else if ft.is_file() {
        fs::copy(src, dst).map_err(|e| io("copying to", dst, e))?;
    } else {
        // FIFOs, sockets and device nodes: made again (we run as root).
        nix::sys::stat::mknod(
            dst,
            nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT),
            nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777),
            meta.rdev(),
        )
        .map_err(|e| io("creating", dst, e.into()))?;
    }
    let (uid, gid) = opts.owner.unwrap_or((meta.uid(), meta.gid()));
    std::os::unix::fs::lchown(dst, Some(uid), Some(gid)).map_err(|e| io("chown", dst, e))?;
    if !ft.is_symlink() {
        let mode = opts.mode.unwrap_or(meta.mode() & 0o7777);
        fs::set_permissions(dst, fs::Permissions::from_mode(mode))
            .map_err(|e| io("chmod", dst, e))?;
    }
    set_mtime(dst, &meta);
    Ok(())
}

/// Give `dst` the modification time of `like` (without following links).
pub fn set_mtime(dst: &Path, like: &fs::Metadata) {
    let ts = |s: i64, ns: i64| libc::timespec {
        tv_sec: s,
        tv_nsec: ns,
    };
    let times = [
        ts(like.atime(), like.atime_nsec()),
        ts(like.mtime(), like.mtime_nsec()),
    ];
    let Ok(c) = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(dst.as_os_str()))
    else {
        return;
    };
    // SAFETY: c is a valid C string and times has two elements.
    unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_chroot() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("usr/bin")).unwrap();
        symlink("usr/bin", r.join("bin")).unwrap();
        symlink("/etc/passwd", r.join("abs")).unwrap();
        symlink("../../..", r.join("usr/bin/up")).unwrap();
        assert_eq!(resolve_in_root(r, "/bin/x"), r.join("usr/bin/x"));
        assert_eq!(resolve_in_root(r, "abs"), r.join("etc/passwd"));
        assert_eq!(resolve_in_root(r, "/usr/bin/up/etc"), r.join("etc"));
        assert_eq!(resolve_in_root(r, "../../x"), r.join("x"));
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
}

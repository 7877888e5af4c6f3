//! Copying a tree between directories held open as fds.
//!
//! Every entry is reached by one `openat` of a single name relative to a
//! directory fd already open, without following it (`O_NOFOLLOW`, `O_PATH`),
//! and made the same way (`mkdirat`, `openat(O_CREAT|O_EXCL)`, `symlinkat`,
//! `mknodat`), never by a path walked again later. So a tree that changes
//! during the copy (a running container swapping a directory for a symlink
//! to a host path) can make the copy fail, but cannot steer it outside the
//! directories it was given. Reading a file reopens the very inode that was
//! checked, through `/proc/self/fd`; a device node is never opened, only
//! made again.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid};

use super::CopyOptions;
use crate::{ImageError, ImageResult};

fn err(what: &str, p: &Path, e: Errno) -> ImageError {
    ImageError::io(format!("{what} {}", p.display()), e.into())
}

/// Take ownership of an fd a syscall just returned.
pub(crate) fn owned(fd: std::os::fd::RawFd) -> OwnedFd {
    // SAFETY: the caller passes a new fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `name` in `dir`, open as itself whatever it is (a symlink gives the
/// link, a device does not reach its driver).
pub(crate) fn open_entry(dir: BorrowedFd, name: &OsStr) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map(owned)
}

/// The directory `name` in `dir`, open for reading and changing; fails
/// (rather than following) if `name` is now a symlink.
fn open_dir_at(dir: BorrowedFd, name: &OsStr) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map(owned)
}

pub(crate) fn stat(fd: BorrowedFd) -> nix::Result<FileStat> {
    nix::sys::stat::fstat(fd.as_raw_fd())
}

pub(crate) fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT)
}

/// The target of the symlink open (`O_PATH`) as `fd`.
pub(crate) fn link_target(fd: BorrowedFd) -> nix::Result<OsString> {
    nix::fcntl::readlinkat(Some(fd.as_raw_fd()), "")
}

/// `/proc/self/fd/N`: opening it reaches the inode `fd` holds, not
/// whatever its name holds now.
fn proc_path(fd: BorrowedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// A host path, open as the source of a copy: its last component is not
/// followed (a symlink is copied as a link, as `lstat` sees it).
pub fn open_source(path: &Path) -> ImageResult<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map(owned)
    .map_err(|e| err("reading", path, e))
}

/// A host directory, open as where a copy goes. The path is the caller's
/// own (the host's, or one already resolved safely), so it is followed.
pub fn open_dir(path: &Path) -> ImageResult<OwnedFd> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    nix::fcntl::open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map(owned)
    .map_err(|e| err("opening", path, e))
}

/// The directory holding the host path `path` (followed, see [`open_dir`])
/// and the name `path` has there: where a copy to `path` goes.
pub fn open_parent(path: &Path) -> ImageResult<(OwnedFd, &OsStr)> {
    let Some(name) = path.file_name() else {
        return Err(ImageError::invalid(format!(
            "cannot copy to {}: it names no entry",
            path.display()
        )));
    };
    Ok((open_dir(path.parent().unwrap_or(Path::new("/")))?, name))
}

/// Where a copy goes.
#[derive(Clone, Copy)]
pub enum Dest<'a> {
    /// The entry `name` in the open directory: a directory copied onto a
    /// directory is merged into it, anything else replaces what is there.
    In(BorrowedFd<'a>, &'a OsStr),
    /// An open directory, merged into (it takes the source directory's
    /// owner, mode and times).
    Dir(BorrowedFd<'a>),
}

/// Copy the entry open as `src` (an `O_PATH` fd, not followed) to `dst`,
/// recursively, keeping modes, owners (unless overridden), times and
/// symlinks. `src_path` and `dst_path` name them in errors.
pub fn copy_fd(
    src: BorrowedFd,
    src_path: &Path,
    dst: Dest,
    dst_path: &Path,
    opts: &CopyOptions,
) -> ImageResult<()> {
    Copier {
        opts,
        keep: &|_| true,
    }
    .copy(src, src_path, dst, dst_path)
}

pub(crate) struct Copier<'a> {
    pub opts: &'a CopyOptions,
    /// Source entries (and what is below them) to skip, by their path
    /// under `src_path`.
    pub keep: &'a dyn Fn(&Path) -> bool,
}

impl Copier<'_> {
    pub fn copy(
        &self,
        src: BorrowedFd,
        src_path: &Path,
        dst: Dest,
        dst_path: &Path,
    ) -> ImageResult<()> {
        match dst {
            Dest::In(dir, name) => self.entry(src, src_path, dir, name, dst_path),
            Dest::Dir(dir) => {
                let st = stat(src).map_err(|e| err("reading", src_path, e))?;
                if kind(&st) != SFlag::S_IFDIR {
                    return Err(ImageError::invalid(format!(
                        "cannot copy {} onto the directory {}",
                        src_path.display(),
                        dst_path.display()
                    )));
                }
                let dir =
                    open_dir_at(dir, OsStr::new(".")).map_err(|e| err("opening", dst_path, e))?;
                self.merge_dir(src, &st, src_path, dir.as_fd(), dst_path)
            }
        }
    }

    /// Copy `src` to `name` in `dst_dir`.
    fn entry(
        &self,
        src: BorrowedFd,
        src_path: &Path,
        dst_dir: BorrowedFd,
        name: &OsStr,
        dst_path: &Path,
    ) -> ImageResult<()> {
        let st = stat(src).map_err(|e| err("reading", src_path, e))?;
        let existing = match nix::sys::stat::fstatat(
            Some(dst_dir.as_raw_fd()),
            name,
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(s) => Some(kind(&s)),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(err("reading", dst_path, e)),
        };
        let src_kind = kind(&st);
        if src_kind == SFlag::S_IFDIR {
            if existing != Some(SFlag::S_IFDIR) {
                if existing.is_some() {
                    remove_at(dst_dir, name, dst_path)?;
                }
                nix::sys::stat::mkdirat(
                    Some(dst_dir.as_raw_fd()),
                    name,
                    Mode::from_bits_truncate(0o700),
                )
                .map_err(|e| err("creating", dst_path, e))?;
            }
            let dir = open_dir_at(dst_dir, name).map_err(|e| err("opening", dst_path, e))?;
            return self.merge_dir(src, &st, src_path, dir.as_fd(), dst_path);
        }
        if existing.is_some() {
            remove_at(dst_dir, name, dst_path)?;
        }
        let (uid, gid) = self.owner(&st);
        match src_kind {
            SFlag::S_IFLNK => {
                let target = link_target(src).map_err(|e| err("reading", src_path, e))?;
                nix::unistd::symlinkat(target.as_os_str(), Some(dst_dir.as_raw_fd()), name)
                    .map_err(|e| err("creating", dst_path, e))?;
                // Both act on the entry in dst_dir without following it.
                // A link gone already was removed by someone else (a
                // container sharing the volume): nothing left to set.
                let owned = nix::unistd::fchownat(
                    Some(dst_dir.as_raw_fd()),
                    name,
                    Some(uid),
                    Some(gid),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                );
                if owned == Err(nix::errno::Errno::ENOENT) {
                    return Ok(());
                }
                owned.map_err(|e| err("chown", dst_path, e))?;
                let (atime, mtime) = times(&st);
                let timed = nix::sys::stat::utimensat(
                    Some(dst_dir.as_raw_fd()),
                    name,
                    &atime,
                    &mtime,
                    nix::sys::stat::UtimensatFlags::NoFollowSymlink,
                );
                if timed != Err(nix::errno::Errno::ENOENT) {
                    timed.map_err(|e| err("setting times of", dst_path, e))?;
                }
            }
            SFlag::S_IFREG => {
                let mut from = File::from(
                    nix::fcntl::open(
                        proc_path(src).as_str(),
                        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                        Mode::empty(),
                    )
                    .map(owned)
                    .map_err(|e| err("reading", src_path, e))?,
                );
                let mut to = File::from(
                    nix::fcntl::openat(
                        Some(dst_dir.as_raw_fd()),
                        name,
                        OFlag::O_WRONLY
                            | OFlag::O_CREAT
                            | OFlag::O_EXCL
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o600),
                    )
                    .map(owned)
                    .map_err(|e| err("creating", dst_path, e))?,
                );
                std::io::copy(&mut from, &mut to)
                    .map_err(|e| ImageError::io(format!("copying to {}", dst_path.display()), e))?;
                self.finish(to.as_fd(), &st, dst_path)?;
            }
            _ => {
                // FIFOs, sockets and device nodes: made again (we run as root).
                nix::sys::stat::mknodat(
                    Some(dst_dir.as_raw_fd()),
                    name,
                    src_kind,
                    Mode::from_bits_truncate(0o600),
                    st.st_rdev,
                )
                .map_err(|e| err("creating", dst_path, e))?;
                let node = open_entry(dst_dir, name).map_err(|e| err("opening", dst_path, e))?;
                let made = stat(node.as_fd()).map_err(|e| err("reading", dst_path, e))?;
                if kind(&made) != src_kind {
                    return Err(ImageError::invalid(format!(
                        "{} changed while it was copied",
                        dst_path.display()
                    )));
                }
                nix::unistd::fchownat(
                    Some(node.as_raw_fd()),
                    "",
                    Some(uid),
                    Some(gid),
                    AtFlags::AT_EMPTY_PATH,
                )
                .map_err(|e| err("chown", dst_path, e))?;
                // fchmod and futimens refuse O_PATH fds (and opening a
                // device is what we avoid): through the fd's proc link.
                let node_path = proc_path(node.as_fd());
                nix::sys::stat::fchmodat(
                    None,
                    node_path.as_str(),
                    self.mode(&st),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                )
                .map_err(|e| err("chmod", dst_path, e))?;
                let (atime, mtime) = times(&st);
                nix::sys::stat::utimensat(
                    None,
                    node_path.as_str(),
                    &atime,
                    &mtime,
                    nix::sys::stat::UtimensatFlags::FollowSymlink,
                )
                .map_err(|e| err("setting times of", dst_path, e))?;
            }
        }
        Ok(())
    }

    /// Copy what is in the directory `src` into the open directory `dst`,
    /// then give `dst` the owner, mode and times of `src`.
    fn merge_dir(
        &self,
        src: BorrowedFd,
        st: &FileStat,
        src_path: &Path,
        dst: BorrowedFd,
        dst_path: &Path,
    ) -> ImageResult<()> {
        for name in list(src, src_path)? {
            let child_path = src_path.join(&name);
            if !(self.keep)(&child_path) {
                continue;
            }
            let child = match open_entry(src, &name) {
                Ok(fd) => fd,
                // Gone since it was listed (the tree is live): nothing to copy.
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(err("reading", &child_path, e)),
            };
            self.entry(
                child.as_fd(),
                &child_path,
                dst,
                &name,
                &dst_path.join(&name),
            )?;
        }
        self.finish(dst, st, dst_path)
    }

    fn owner(&self, st: &FileStat) -> (Uid, Gid) {
        let (uid, gid) = self.opts.owner.unwrap_or((st.st_uid, st.st_gid));
        (Uid::from_raw(uid), Gid::from_raw(gid))
    }

    fn mode(&self, st: &FileStat) -> Mode {
        Mode::from_bits_truncate(self.opts.mode.unwrap_or(st.st_mode & 0o7777))
    }

    /// Owner, then mode (chown clears set-id bits), then times, of what
    /// `fd` holds open.
    fn finish(&self, fd: BorrowedFd, st: &FileStat, path: &Path) -> ImageResult<()> {
        let (uid, gid) = self.owner(st);
        nix::unistd::fchown(fd.as_raw_fd(), Some(uid), Some(gid))
            .map_err(|e| err("chown", path, e))?;
        nix::sys::stat::fchmod(fd.as_raw_fd(), self.mode(st)).map_err(|e| err("chmod", path, e))?;
        let (atime, mtime) = times(st);
        nix::sys::stat::futimens(fd.as_raw_fd(), &atime, &mtime)
            .map_err(|e| err("setting times of", path, e))
    }
}

fn times(st: &FileStat) -> (TimeSpec, TimeSpec) {
    (
        TimeSpec::new(st.st_atime, st.st_atime_nsec),
        TimeSpec::new(st.st_mtime, st.st_mtime_nsec),
    )
}

/// The names in the directory open as `dir` (`O_PATH` will do).
pub(crate) fn list(dir: BorrowedFd, path: &Path) -> ImageResult<Vec<OsString>> {
    let mut d = Dir::openat(
        Some(dir.as_raw_fd()),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err("reading", path, e))?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e.map_err(|e| err("reading", path, e))?;
        let name = OsStr::from_bytes(e.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_os_string());
        }
    }
    Ok(names)
}

/// Remove `name` from `dir`, a directory with all below it; a symlink
/// met on the way is removed, never followed.
fn remove_at(dir: BorrowedFd, name: &OsStr, path: &Path) -> ImageResult<()> {
    match nix::unistd::unlinkat(
        Some(dir.as_raw_fd()),
        name,
        nix::unistd::UnlinkatFlags::NoRemoveDir,
    ) {
        Ok(()) => return Ok(()),
        Err(Errno::EISDIR) => {}
        Err(e) => return Err(err("replacing", path, e)),
    }
    let sub = open_dir_at(dir, name).map_err(|e| err("replacing", path, e))?;
    for child in list(sub.as_fd(), path)? {
        remove_at(sub.as_fd(), &child, &path.join(&child))?;
    }
    nix::unistd::unlinkat(
        Some(dir.as_raw_fd()),
        name,
        nix::unistd::UnlinkatFlags::RemoveDir,
    )
    .map_err(|e| err("replacing", path, e))
}

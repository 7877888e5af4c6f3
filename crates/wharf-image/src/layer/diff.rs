//! Writing a layer tar of an overlay upper dir (or any directory tree).

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::error::LayerError;
use super::sys::{self, Stat, XattrTarget};
use super::tar_out::{Entry, TarOut};
use super::whiteout::{
    is_overlay_whiteout, OPAQUE_MARKER, OVERLAY_METACOPY_XATTR, OVERLAY_OPAQUE_XATTR,
    OVERLAY_REDIRECT_XATTR, OVERLAY_XATTR_PREFIX, WHITEOUT_PREFIX,
};
use super::DiffOptions;

/// Writes a layer tar of `dir` to `out` and returns `out`.
///
/// Entries come depth-first, parents before children, each directory's
/// entries sorted bytewise by their tar names (Go's filepath.Walk order, as
/// docker uses, except that whiteouts sort under their `.wh.` name), so
/// the same tree always gives the same bytes.
pub fn write_layer<W: Write>(dir: &Path, out: W, opts: &DiffOptions) -> Result<W, LayerError> {
    let root = File::open(dir).map_err(|source| LayerError::Io {
        op: "open",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut w = Walker {
        base: dir,
        opts,
        tar: TarOut::new(out),
        inodes: HashMap::new(),
        path: Vec::new(),
        copy: Vec::new(),
        link: Vec::new(),
        list: Vec::new(),
        xattrs: Vec::new(),
    };
    w.walk_dir(OwnedFd::from(root).as_fd())?;
    w.tar.finish().map_err(LayerError::Write)
}

struct Walker<'a, W: Write> {
    base: &'a Path,
    opts: &'a DiffOptions,
    tar: TarOut<W>,
    /// First path seen for each multiply-linked regular file.
    inodes: HashMap<(u64, u64), Vec<u8>>,
    /// Relative path of the entry being written.
    path: Vec<u8>,
    copy: Vec<u8>,
    link: Vec<u8>,
    list: Vec<u8>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<W: Write> Walker<'_, W> {
    fn fs_err(&self, op: &'static str, source: io::Error) -> LayerError {
        LayerError::Io {
            op,
            path: self.full_path(),
            source,
        }
    }

    fn full_path(&self) -> PathBuf {
        self.base.join(OsStr::from_bytes(&self.path))
    }

    /// Emits the children of the directory open as `dir`, whose relative
    /// path (empty or ending in `/`) is `self.path`, in bytewise order of
    /// their names in the tar (a whiteout `x` sorts as `.wh.x`).
    fn walk_dir(&mut self, dir: BorrowedFd<'_>) -> Result<(), LayerError> {
        let names = read_names(dir).map_err(|e| self.fs_err("read directory", e))?;
        let dir_len = self.path.len();
        let mut items = Vec::with_capacity(names.len());
        for name in names {
            self.path.truncate(dir_len);
            self.path.extend_from_slice(name.to_bytes());
            let st = sys::lstat_at(dir, &name).map_err(|e| self.fs_err("stat", e))?;
            items.push((name, st));
        }
        let wh = self.opts.whiteouts;
        items.sort_unstable_by(|(an, ast), (bn, bst)| {
            tar_name(an, ast, wh).cmp(tar_name(bn, bst, wh))
        });
        for (name, st) in &items {
            self.path.truncate(dir_len);
            self.path.extend_from_slice(name.to_bytes());
            self.entry(dir, name, st)?;
        }
        self.path.truncate(dir_len);
        Ok(())
    }

    fn entry(&mut self, dir: BorrowedFd<'_>, name: &CStr, st: &Stat) -> Result<(), LayerError> {
        let mut e = Entry {
            path: &[],
            kind: EntryType::Regular,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid as u64,
            gid: st.st_gid as u64,
            mtime: st.st_mtime,
            size: 0,
            link: &[],
            dev: (0, 0),
            xattrs: &[],
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFSOCK => Ok(()),
            libc::S_IFCHR if self.opts.whiteouts && is_overlay_whiteout(st) => {
                let dir_len = self.path.len() - name.to_bytes().len();
                let mut p = self.path[..dir_len].to_vec();
                p.extend_from_slice(WHITEOUT_PREFIX);
                p.extend_from_slice(name.to_bytes());
                // docker's overlay diff writes whiteouts as 0600 root files.
                self.marker(&p, st.st_mtime, 0o600)
            }
            libc::S_IFDIR => {
                let fd =
                    sys::open_dir_at(dir, name).map_err(|e| self.fs_err("open directory", e))?;
                let opaque = self.read_xattrs(XattrTarget::Fd(fd.as_fd()), true)?;
                self.path.push(b'/');
                e.kind = EntryType::Directory;
                self.emit(e, None)?;
                if opaque {
                    let mut p = self.path.clone();
                    p.extend_from_slice(OPAQUE_MARKER);
                    // ... and opaque markers with their directory's permissions.
                    self.marker(&p, st.st_mtime, st.st_mode & 0o777)?;
                }
                self.walk_dir(fd.as_fd())
            }
            libc::S_IFREG => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.inodes.get(&key) {
                        self.link = first.clone();
                        e.kind = EntryType::Link;
                        return self.emit(e, None);
                    }
                    self.inodes.insert(key, self.path.clone());
                }
                let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NOCTTY;
                let fd = sys::open_at(dir, name, flags, 0).map_err(|e| self.fs_err("open", e))?;
                self.read_xattrs(XattrTarget::Fd(fd.as_fd()), false)?;
                e.size = st.st_size as u64;
                let mut file = File::from(fd);
                self.emit(e, Some(&mut file))
            }
            libc::S_IFLNK => {
                let mut link = std::mem::take(&mut self.link);
                sys::readlink_at(dir, name, &mut link).map_err(|e| self.fs_err("readlink", e))?;
                self.link = link;
                self.read_xattrs_at(dir, name)?;
                e.kind = EntryType::Symlink;
                self.emit(e, None)
            }
            fmt => {
                e.kind = match fmt {
                    libc::S_IFCHR => EntryType::Char,
                    libc::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                e.dev = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
                self.read_xattrs_at(dir, name)?;
                self.emit(e, None)
            }
        }
    }

    /// Writes `e` with path, link target and xattrs taken from the walker.
    fn emit(&mut self, e: Entry<'static>, data: Option<&mut File>) -> Result<(), LayerError> {
        let mut e: Entry<'_> = e;
        e.path = &self.path;
        if matches!(e.kind, EntryType::Link | EntryType::Symlink) {
            e.link = &self.link;
        }
        if !matches!(e.kind, EntryType::Link) {
            e.xattrs = &self.xattrs;
        }
        let mut src = data.map(SourceRead);
        let r = self.tar.append(
            &e,
            src.as_mut().map(|s| s as &mut dyn io::Read),
            &mut self.copy,
        );
        r.map_err(|err| match SourceError::take(err) {
            Ok(source) => self.fs_err("read", source),
            Err(err) => LayerError::Write(err),
        })
    }

    /// An empty marker file (whiteout or opaque marker) owned by root.
    fn marker(&mut self, path: &[u8], mtime: i64, mode: u32) -> Result<(), LayerError> {
        let e = Entry {
            path,
            kind: EntryType::Regular,
            mode,
            uid: 0,
            gid: 0,
            mtime,
            size: 0,
            link: &[],
            dev: (0, 0),
            xattrs: &[],
        };
        self.tar
            .append(&e, None, &mut self.copy)
            .map_err(LayerError::Write)
    }

    fn read_xattrs_at(&mut self, dir: BorrowedFd<'_>, name: &CStr) -> Result<bool, LayerError> {
        let p = sys::proc_path(dir, name.to_bytes()).map_err(|e| self.fs_err("list xattrs", e))?;
        self.read_xattrs(XattrTarget::Path(&p), false)
    }

    /// Loads the entry's xattrs (sorted, overlay-private ones dropped) into
    /// `self.xattrs`; returns whether it is an opaque overlay directory.
    fn read_xattrs(&mut self, t: XattrTarget<'_>, is_dir: bool) -> Result<bool, LayerError> {
        self.xattrs.clear();
        let mut list = std::mem::take(&mut self.list);
        let r = sys::list_xattrs(t, &mut list);
        self.list = list;
        r.map_err(|e| self.fs_err("list xattrs", e))?;
        let mut opaque = false;
        let mut value = Vec::new();
        for name in self.list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let cname = CString::new(name).expect("split on NUL");
            match sys::get_xattr(t, &cname, &mut value) {
                Ok(()) => {}
                // Removed between list and get.
                Err(e) if e.raw_os_error() == Some(libc::ENODATA) => continue,
                Err(e) => return Err(self.fs_err("read xattr", e)),
            }
            if name.starts_with(OVERLAY_XATTR_PREFIX) {
                if self.opts.whiteouts {
                    if is_dir && cname.as_c_str() == OVERLAY_OPAQUE_XATTR && value == b"y" {
                        opaque = true;
                    } else if name == OVERLAY_REDIRECT_XATTR || name == OVERLAY_METACOPY_XATTR {
                        return Err(LayerError::Unsupported {
                            path: self.full_path(),
                            reason: format!(
                                "has {}; the overlay must be mounted with redirect_dir=off and metacopy=off",
                                String::from_utf8_lossy(name)
                            ),
                        });
                    }
                }
                continue;
            }
            self.xattrs.push((name.to_vec(), value.clone()));
        }
        self.xattrs.sort_unstable();
        Ok(opaque)
    }
}

/// The bytes of a directory entry's name as it will appear in the tar.
fn tar_name<'a>(name: &'a CStr, st: &Stat, whiteouts: bool) -> impl Iterator<Item = &'a u8> {
    let prefix: &'static [u8] = if whiteouts && is_overlay_whiteout(st) {
        WHITEOUT_PREFIX
    } else {
        b""
    };
    prefix.iter().chain(name.to_bytes())
}

fn read_names(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    let mut d = nix::dir::Dir::from(dir.try_clone_to_owned()?).map_err(io::Error::from)?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e.map_err(io::Error::from)?;
        let n = e.file_name();
        if n.to_bytes() != b"." && n.to_bytes() != b".." {
            names.push(n.to_owned());
        }
    }
    Ok(names)
}

/// Tags read errors of the file being archived, so they are reported as the
/// source tree's failure rather than the output's.
struct SourceRead<'f>(&'f mut File);

#[derive(Debug)]
struct SourceError(io::Error);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

impl SourceError {
    /// The original read error, or `err` back if it came from the writer.
    fn take(err: io::Error) -> Result<io::Error, io::Error> {
        if err.get_ref().is_some_and(|e| e.is::<SourceError>()) {
            let inner = err.into_inner().expect("checked above");
            Ok(inner.downcast::<SourceError>().expect("checked above").0)
        } else {
            Err(err)
        }
    }
}

impl io::Read for SourceRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), SourceError(e)))
    }
}

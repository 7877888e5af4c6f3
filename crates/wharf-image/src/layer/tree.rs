//! The destination tree during apply: creating each kind of node relative
//! to an open parent directory, replacing what is in the way, and the
//! bookkeeping (our symlinks, deferred directory times) that goes with it.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::error::LayerError;
use super::path::{clean_name, is_within, join, split_last, Symlinks};
use super::sys::{self, cstr, XattrTarget};
use super::ApplyStats;

const COPY_BUF: usize = 1024 * 1024;

/// Ownership, permissions and times of one entry.
pub struct Meta {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
}

/// A name inside an open directory, plus its resolved path for bookkeeping
/// and error messages.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub dir: BorrowedFd<'a>,
    pub name: &'a CStr,
    pub full: &'a [u8],
}

/// The destination tree and what we know about it.
pub struct Tree<'d> {
    dest: &'d Path,
    root: Rc<OwnedFd>,
    /// Directory mtimes, applied at the end because writing children changes them.
    dir_times: HashMap<Box<[u8]>, (i64, u32)>,
    /// The last directory opened; tar order makes consecutive entries share it.
    cache: Option<(Vec<u8>, Rc<OwnedFd>)>,
    /// The symlinks this layer created, for resolving later entries' parents.
    pub links: Symlinks,
    pub stats: ApplyStats,
}

impl<'d> Tree<'d> {
    pub fn new(dest: &'d Path, root: OwnedFd) -> Self {
        Tree {
            dest,
            root: Rc::new(root),
            links: Symlinks::default(),
            dir_times: HashMap::new(),
            cache: None,
            stats: ApplyStats::default(),
        }
    }

    fn path(&self, rel: &[u8]) -> PathBuf {
        self.dest.join(std::ffi::OsStr::from_bytes(rel))
    }

    pub fn io(&self, op: &'static str, rel: &[u8], source: io::Error) -> LayerError {
        LayerError::Io {
            op,
            path: self.path(rel),
            source,
        }
    }

    /// Opens the resolved directory `dir`, one component at a time with
    /// O_NOFOLLOW, creating missing components (root-owned, 0755, as docker
    /// does) when `create` is set.
    pub fn open_dir(
        &mut self,
        dir: &[u8],
        create: bool,
        entry: &[u8],
        cbuf: &mut Vec<u8>,
    ) -> Result<Rc<OwnedFd>, LayerError> {
        if dir.is_empty() {
            return Ok(self.root.clone());
        }
        let (mut fd, rest) = match &self.cache {
            Some((p, fd)) if p == dir => return Ok(fd.clone()),
            Some((p, fd)) if is_within(dir, p) => (fd.clone(), &dir[p.len() + 1..]),
            _ => (self.root.clone(), dir),
        };
        let base_len = dir.len() - rest.len();
        let mut pos = base_len;
        for comp in rest.split(|&b| b == b'/') {
            pos += comp.len();
            let sofar = &dir[..pos];
            pos += 1;
            let c = cstr(cbuf, comp).map_err(|e| self.io("open directory", sofar, e))?;
            let next = match sys::open_dir_at(fd.as_fd(), c) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                    sys::mkdir_at(fd.as_fd(), c, 0o755)
                        .and_then(|_| sys::chmod_at(fd.as_fd(), c, 0o755))
                        .map_err(|e| self.io("create directory", sofar, e))?;
                    sys::open_dir_at(fd.as_fd(), c)
                }
                r => r,
            };
            fd = Rc::new(next.map_err(|e| match e.raw_os_error() {
                Some(libc::ENOTDIR) | Some(libc::ELOOP) => LayerError::entry(
                    entry,
                    format!(
                        "parent {:?} is not a directory",
                        String::from_utf8_lossy(sofar)
                    ),
                ),
                Some(libc::ENOENT) => LayerError::entry(
                    entry,
                    format!("{:?} does not exist", String::from_utf8_lossy(sofar)),
                ),
                _ => self.io("open directory", sofar, e),
            })?);
        }
        self.cache = Some((dir.to_vec(), fd.clone()));
        Ok(fd)
    }

    /// Removes whatever is at `at` (recursively for a directory) and forgets
    /// what we recorded about it.
    fn remove(&mut self, at: At<'_>) -> Result<(), LayerError> {
        match sys::unlink_at(at.dir, at.name, 0) {
            Ok(()) => {
                self.links.remove(at.full);
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
                remove_dir_all_at(at.dir, at.name)
                    .map_err(|e| self.io("remove directory", at.full, e))?;
                self.links.remove_tree(at.full);
                self.dir_times.retain(|k, _| !is_within(k, at.full));
                self.cache = None;
                Ok(())
            }
            Err(e) => Err(self.io("remove", at.full, e)),
        }
    }

    /// Runs a create operation; if the name exists, removes it and retries
    /// (a non-directory entry replaces whatever was there).
    fn create<T>(
        &mut self,
        at: At<'_>,
        op_name: &'static str,
        mut op: impl FnMut() -> io::Result<T>,
    ) -> Result<T, LayerError> {
        match op() {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                self.remove(at)?;
                op().map_err(|e| self.io(op_name, at.full, e))
            }
            r => r.map_err(|e| self.io(op_name, at.full, e)),
        }
    }

    fn set_xattrs(
        &self,
        t: XattrTarget<'_>,
        full: &[u8],
        xattrs: &[(CString, Vec<u8>)],
    ) -> Result<(), LayerError> {
        for (name, value) in xattrs {
            if let Err(e) = sys::set_xattr(t, name, value) {
                let n = name.to_bytes();
                let ignorable = match e.raw_os_error() {
                    Some(libc::EOPNOTSUPP) => true,
                    // Unprivileged or restricted hosts cannot set these;
                    // the image still works without them.
                    Some(libc::EPERM) => {
                        n == b"security.capability"
                            || n.starts_with(b"user.")
                            || n.starts_with(b"trusted.")
                    }
                    _ => false,
                };
                if !ignorable {
                    return Err(self.io("set xattr", full, e));
                }
                tracing::debug!(path = %self.path(full).display(), xattr = %name.to_string_lossy(), error = %e, "xattr not applied");
            }
        }
        Ok(())
    }

    /// Sets xattrs on a node that cannot be opened (symlink, device, fifo).
    fn set_xattrs_at(&self, at: At<'_>, xattrs: &[(CString, Vec<u8>)]) -> Result<(), LayerError> {
        if xattrs.is_empty() {
            return Ok(());
        }
        let p = sys::proc_path(at.dir, at.name.to_bytes())
            .map_err(|e| self.io("set xattr", at.full, e))?;
        self.set_xattrs(XattrTarget::Path(&p), at.full, xattrs)
    }

    pub fn root_meta(&mut self, m: &Meta, xattrs: &[(CString, Vec<u8>)]) -> Result<(), LayerError> {
        let root = self.root.clone();
        self.fd_meta(root.as_fd(), b"", m, xattrs)?;
        self.dir_times
            .insert(Box::default(), (m.mtime, m.mtime_nsec));
        Ok(())
    }

    /// chown before chmod: chown clears setuid/setgid. xattrs after both:
    /// chown also drops security.capability.
    fn fd_meta(
        &self,
        fd: BorrowedFd<'_>,
        full: &[u8],
        m: &Meta,
        xattrs: &[(CString, Vec<u8>)],
    ) -> Result<(), LayerError> {
        sys::fchown(fd, m.uid, m.gid).map_err(|e| self.io("chown", full, e))?;
        sys::fchmod(fd, m.mode).map_err(|e| self.io("chmod", full, e))?;
        self.set_xattrs(XattrTarget::Fd(fd), full, xattrs)
    }

    pub fn make_file<E: EntrySize>(
        &mut self,
        at: At<'_>,
        data: &mut E,
        m: &Meta,
        xattrs: &[(CString, Vec<u8>)],
        buf: &mut Vec<u8>,
    ) -> Result<(), LayerError> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let fd = self.create(at, "create file", || {
            sys::open_at(at.dir, at.name, flags, 0o600)
        })?;
        let mut file = File::from(fd);
        let expected = data.expected_size();
        let mut written = 0u64;
        if expected > 0 {
            if buf.is_empty() {
                buf.resize(COPY_BUF, 0);
            }
            loop {
                let n = match data.read(buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(LayerError::from_read(e)),
                };
                file.write_all(&buf[..n])
                    .map_err(|e| self.io("write file", at.full, e))?;
                written += n as u64;
            }
        }
        if written != expected {
            return Err(LayerError::Corrupt(format!(
                "unexpected end of archive in {:?}",
                String::from_utf8_lossy(at.full)
            )));
        }
        self.stats.size += written;
        self.fd_meta(file.as_fd(), at.full, m, xattrs)?;
        sys::futimes(file.as_fd(), m.mtime, m.mtime_nsec)
            .map_err(|e| self.io("set times", at.full, e))
    }

    pub fn make_dir(
        &mut self,
        at: At<'_>,
        m: &Meta,
        xattrs: &[(CString, Vec<u8>)],
    ) -> Result<(), LayerError> {
        match sys::mkdir_at(at.dir, at.name, 0o700) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                let st = sys::lstat_at(at.dir, at.name).map_err(|e| self.io("stat", at.full, e))?;
                // A directory over a directory merges; over anything else, replaces.
                if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                    self.remove(at)?;
                    sys::mkdir_at(at.dir, at.name, 0o700)
                        .map_err(|e| self.io("create directory", at.full, e))?;
                }
            }
            r => r.map_err(|e| self.io("create directory", at.full, e))?,
        }
        let fd =
            sys::open_dir_at(at.dir, at.name).map_err(|e| self.io("open directory", at.full, e))?;
        self.fd_meta(fd.as_fd(), at.full, m, xattrs)?;
        self.dir_times
            .insert(at.full.into(), (m.mtime, m.mtime_nsec));
        // Its children usually come next.
        self.cache = Some((at.full.to_vec(), Rc::new(fd)));
        Ok(())
    }

    pub fn make_symlink(
        &mut self,
        at: At<'_>,
        target: &CStr,
        m: &Meta,
        xattrs: &[(CString, Vec<u8>)],
    ) -> Result<(), LayerError> {
        self.create(at, "create symlink", || {
            sys::symlink_at(target, at.dir, at.name)
        })?;
        self.links.insert(at.full, target.to_bytes());
        sys::lchown_at(at.dir, at.name, m.uid, m.gid).map_err(|e| self.io("chown", at.full, e))?;
        self.set_xattrs_at(at, xattrs)?;
        sys::lutimes_at(at.dir, at.name, m.mtime, m.mtime_nsec)
            .map_err(|e| self.io("set times", at.full, e))
    }

    pub fn make_node(
        &mut self,
        at: At<'_>,
        fmt: libc::mode_t,
        dev: libc::dev_t,
        m: &Meta,
        xattrs: &[(CString, Vec<u8>)],
    ) -> Result<(), LayerError> {
        self.create(at, "create device", || {
            sys::mknod_at(at.dir, at.name, fmt | 0o600, dev)
        })?;
        sys::lchown_at(at.dir, at.name, m.uid, m.gid).map_err(|e| self.io("chown", at.full, e))?;
        // We just created this node, so chmod following the name is safe.
        sys::chmod_at(at.dir, at.name, m.mode).map_err(|e| self.io("chmod", at.full, e))?;
        self.set_xattrs_at(at, xattrs)?;
        sys::lutimes_at(at.dir, at.name, m.mtime, m.mtime_nsec)
            .map_err(|e| self.io("set times", at.full, e))
    }

    pub fn make_whiteout(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        full: &[u8],
        m: &Meta,
    ) -> Result<(), LayerError> {
        let at = At { dir, name, full };
        self.remove(at)?;
        sys::mknod_at(dir, name, libc::S_IFCHR, 0)
            .map_err(|e| self.io("create whiteout", full, e))?;
        if m.uid != 0 || m.gid != 0 {
            sys::lchown_at(dir, name, m.uid, m.gid).map_err(|e| self.io("chown", full, e))?;
        }
        // Keeps a diff of this layer reproducible.
        sys::lutimes_at(dir, name, m.mtime, m.mtime_nsec).map_err(|e| self.io("set times", full, e))
    }

    /// A hard link's target is a path inside the archive; it gets the same
    /// checks as an entry name and must already exist in this layer.
    #[allow(clippy::too_many_arguments)]
    pub fn make_hardlink(
        &mut self,
        at: At<'_>,
        entry: &[u8],
        raw_target: &[u8],
        resolved: &mut Vec<u8>,
        starts: &mut Vec<usize>,
        cbuf: &mut Vec<u8>,
    ) -> Result<(), LayerError> {
        let bad = |r: String| {
            LayerError::entry(
                entry,
                format!(
                    "hard link target {:?}: {r}",
                    String::from_utf8_lossy(raw_target)
                ),
            )
        };
        let mut target = Vec::new();
        clean_name(raw_target, &mut target).map_err(|r| bad(r.to_string()))?;
        if target.is_empty() {
            return Err(bad("is the layer root".into()));
        }
        let (tparent, tbase) = split_last(&target);
        self.links.resolve(tparent, resolved, starts).map_err(bad)?;
        let mut tfull = Vec::new();
        join(resolved, tbase, &mut tfull);
        if tfull == at.full {
            return Err(bad("is the entry itself".into()));
        }
        let tdir = match self.open_dir(resolved, false, entry, cbuf) {
            Ok(d) => d,
            Err(LayerError::Entry { .. }) => return Err(bad("does not exist".into())),
            Err(e) => return Err(e),
        };
        let tname = CString::new(tbase).map_err(|_| bad("contains a NUL byte".into()))?;
        let r = self.create(at, "create hard link", || {
            sys::link_at(tdir.as_fd(), &tname, at.dir, at.name)
        });
        match r {
            Err(LayerError::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOENT) => {
                Err(bad("does not exist".into()))
            }
            Err(LayerError::Io { source, .. }) if source.raw_os_error() == Some(libc::EPERM) => {
                Err(bad("is a directory".into()))
            }
            r => r,
        }?;
        if let Some(t) = self.links.get(&tfull).map(<[u8]>::to_vec) {
            self.links.insert(at.full, &t);
        }
        Ok(())
    }

    /// Applies directory mtimes, children before parents: in reverse byte
    /// order every path comes before its own prefixes.
    pub fn finish(&mut self) -> Result<(), LayerError> {
        let mut dirs: Vec<_> = std::mem::take(&mut self.dir_times).into_iter().collect();
        dirs.sort_unstable_by(|a, b| b.0.cmp(&a.0));
        let mut cbuf = Vec::new();
        let mut c2 = Vec::new();
        for (path, (sec, nsec)) in dirs {
            if path.is_empty() {
                sys::futimes(self.root.as_fd(), sec, nsec)
                    .map_err(|e| self.io("set times", b"", e))?;
                continue;
            }
            let (parent, base) = split_last(&path);
            let dir = self.open_dir(parent, false, &path, &mut cbuf)?;
            let c = cstr(&mut c2, base).map_err(|e| self.io("set times", &path, e))?;
            sys::lutimes_at(dir.as_fd(), c, sec, nsec)
                .map_err(|e| self.io("set times", &path, e))?;
        }
        Ok(())
    }
}

/// The size a tar entry's data should have once read in full.
pub trait EntrySize: Read {
    fn expected_size(&self) -> u64;
}

impl<R: Read> EntrySize for tar::Entry<'_, R> {
    fn expected_size(&self) -> u64 {
        // For GNU sparse entries the header's size() is the expanded size.
        self.header().size().unwrap_or_else(|_| self.size())
    }
}

/// Deletes the directory `name` in `dir` and everything below it, never
/// following symlinks.
fn remove_dir_all_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    let fd = sys::open_dir_at(dir, name)?;
    let names: Vec<CString> = {
        let mut d = nix::dir::Dir::from(fd.try_clone()?).map_err(io::Error::from)?;
        let mut v = Vec::new();
        for e in d.iter() {
            let e = e.map_err(io::Error::from)?;
            let n = e.file_name();
            if n.to_bytes() != b"." && n.to_bytes() != b".." {
                v.push(n.to_owned());
            }
        }
        v
    };
    for n in &names {
        match sys::unlink_at(fd.as_fd(), n, 0) {
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => remove_dir_all_at(fd.as_fd(), n)?,
            r => r?,
        }
    }
    sys::unlink_at(dir, name, libc::AT_REMOVEDIR)
}

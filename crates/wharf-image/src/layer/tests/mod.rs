//! Shared helpers for the layer tests: an in-memory tar builder that can
//! write hostile names, and a tree listing to compare directories.

mod apply;
mod roundtrip;
mod security;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use tar::EntryType;

use super::sys::{self, XattrTarget};

pub const T0: u64 = 1_600_000_000;

/// These tests chown, mknod and set trusted.* xattrs; without root they would
/// test nothing, so they fail instead of passing vacuously.
pub fn require_root() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test must run as root (CI runs the suite as root)"
    );
}

/// One tar entry to build; names and link names are written raw so tests
/// can produce what the tar crate's own API would refuse.
pub struct E<'a> {
    name: &'a [u8],
    kind: EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    link: &'a [u8],
    data: &'a [u8],
    dev: (u32, u32),
    pax: Vec<(&'a str, &'a [u8])>,
}

impl<'a> E<'a> {
    fn new(kind: EntryType, name: &'a [u8], mode: u32) -> Self {
        E {
            name,
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: T0,
            link: b"",
            data: b"",
            dev: (0, 0),
            pax: Vec::new(),
        }
    }
    pub fn file(name: &'a str, data: &'a [u8]) -> Self {
        let mut e = E::new(EntryType::Regular, name.as_bytes(), 0o644);
        e.data = data;
        e
    }
    pub fn dir(name: &'a str) -> Self {
        E::new(EntryType::Directory, name.as_bytes(), 0o755)
    }
    pub fn symlink(name: &'a str, target: &'a str) -> Self {
        let mut e = E::new(EntryType::Symlink, name.as_bytes(), 0o777);
        e.link = target.as_bytes();
        e
    }
    pub fn hardlink(name: &'a str, target: &'a str) -> Self {
        let mut e = E::new(EntryType::Link, name.as_bytes(), 0o644);
        e.link = target.as_bytes();
        e
    }
    pub fn fifo(name: &'a str) -> Self {
        E::new(EntryType::Fifo, name.as_bytes(), 0o644)
    }
    pub fn dev(kind: EntryType, name: &'a str, major: u32, minor: u32) -> Self {
        let mut e = E::new(kind, name.as_bytes(), 0o666);
        e.dev = (major, minor);
        e
    }
    pub fn raw_name(mut self, name: &'a [u8]) -> Self {
        self.name = name;
        self
    }
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    pub fn owner(mut self, uid: u64, gid: u64) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }
    pub fn pax(mut self, key: &'a str, value: &'a [u8]) -> Self {
        self.pax.push((key, value));
        self
    }
}

/// Builds a tar from `entries`, using PAX path/linkpath for long names.
pub fn build(entries: Vec<E<'_>>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for mut e in entries {
        let mut h = tar::Header::new_ustar();
        if e.name.len() > 100 {
            e.pax.push(("path", e.name));
        }
        if e.link.len() > 100 {
            e.pax.push(("linkpath", e.link));
        }
        b.append_pax_extensions(e.pax.iter().copied()).unwrap();
        {
            let u = h.as_ustar_mut().unwrap();
            let n = e.name.len().min(100);
            u.name[..n].copy_from_slice(&e.name[..n]);
            let n = e.link.len().min(100);
            u.linkname[..n].copy_from_slice(&e.link[..n]);
        }
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(e.mtime);
        h.set_size(e.data.len() as u64);
        if matches!(e.kind, EntryType::Char | EntryType::Block) {
            h.set_device_major(e.dev.0).unwrap();
            h.set_device_minor(e.dev.1).unwrap();
        }
        h.set_cksum();
        b.append(&h, e.data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Counts bytes read, to check that apply drains its input.
pub struct Counting<R> {
    pub inner: R,
    pub n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

pub fn xattrs(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut list = Vec::new();
    sys::list_xattrs(XattrTarget::Path(&p), &mut list).unwrap();
    let mut out = BTreeMap::new();
    for name in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let n = CString::new(name).unwrap();
        let mut v = Vec::new();
        sys::get_xattr(XattrTarget::Path(&p), &n, &mut v).unwrap();
        out.insert(String::from_utf8_lossy(name).into_owned(), v);
    }
    out
}

/// One line per entry under `root` (root itself excluded): type, mode,
/// owner, size, content, link target, device, link count, mtime, xattrs.
pub fn listing(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for ent in std::fs::read_dir(dir).unwrap() {
        let p = ent.unwrap().path();
        let md = std::fs::symlink_metadata(&p).unwrap();
        let ft = md.file_type();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let (kind, extra) = if ft.is_dir() {
            ("d", String::new())
        } else if ft.is_file() {
            let data = std::fs::read(&p).unwrap();
            ("f", format!("{} {:?}", data.len(), hash(&data)))
        } else if ft.is_symlink() {
            ("l", format!("-> {:?}", std::fs::read_link(&p).unwrap()))
        } else if ft.is_char_device() || ft.is_block_device() {
            let t = if ft.is_char_device() { "c" } else { "b" };
            (
                t,
                format!("{}:{}", libc::major(md.rdev()), libc::minor(md.rdev())),
            )
        } else if ft.is_fifo() {
            ("p", String::new())
        } else {
            ("?", String::new())
        };
        let line = format!(
            "{kind} {:o} {}:{} nlink={} mtime={} {extra} xattrs={:?}",
            md.mode() & 0o7777,
            md.uid(),
            md.gid(),
            md.nlink(),
            md.mtime(),
            xattrs(&p)
        );
        out.insert(rel, line);
        if ft.is_dir() {
            walk(root, &p, out);
        }
    }
}

fn hash(data: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

/// Entry names of a tar, in order.
pub fn tar_names(tar: &[u8]) -> Vec<Vec<u8>> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path_bytes().into_owned())
        .collect()
}

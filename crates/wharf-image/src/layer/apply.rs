//! Extracting a layer tar into a fresh directory in overlayfs format.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::error::LayerError;
use super::path::{clean_name, join, split_last};
use super::sys::{self, cstr, XattrTarget};
use super::tree::{At, Meta, Tree};
use super::whiteout::{self, TarName, OVERLAY_OPAQUE_XATTR, OVERLAY_XATTR_PREFIX};
use super::ApplyStats;

const READ_BUF: usize = 256 * 1024;

/// Extracts a layer tar (uncompressed) into `dest`, a fresh empty directory
/// that becomes an overlayfs lower/upper dir. Reads `tar` to EOF, including
/// whatever follows the end-of-archive blocks, so a hashing reader around
/// it sees the whole blob.
pub fn apply_layer<R: Read>(tar: R, dest: &Path) -> Result<ApplyStats, LayerError> {
    let root = File::open(dest)
        .and_then(|f| {
            if f.metadata()?.is_dir() {
                Ok(OwnedFd::from(f))
            } else {
                Err(io::Error::from_raw_os_error(libc::ENOTDIR))
            }
        })
        .map_err(|source| LayerError::Io {
            op: "open layer directory",
            path: dest.to_path_buf(),
            source,
        })?;
    let mut tree = Tree::new(dest, root);
    let mut scratch = Scratch::default();
    let mut archive = tar::Archive::new(BufReader::with_capacity(READ_BUF, tar));
    for entry in archive.entries().map_err(LayerError::from_read)? {
        let mut entry = entry.map_err(LayerError::from_read)?;
        apply_entry(&mut tree, &mut scratch, &mut entry)?;
    }
    tree.finish()?;
    // The tar reader stops at the first zero block; the rest (second zero
    // block, record padding, anything appended) is still part of the blob.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(LayerError::from_read)?;
    tracing::debug!(dest = %dest.display(), entries = tree.stats.entries, size = tree.stats.size, "applied layer");
    Ok(tree.stats)
}

/// Buffers reused across entries so the per-entry path does not allocate.
#[derive(Default)]
struct Scratch {
    raw: Vec<u8>,
    name: Vec<u8>,
    link: Vec<u8>,
    resolved: Vec<u8>,
    full: Vec<u8>,
    starts: Vec<usize>,
    c1: Vec<u8>,
    c2: Vec<u8>,
    copy: Vec<u8>,
    xattrs: Vec<(CString, Vec<u8>)>,
}

fn apply_entry<R: Read>(
    tree: &mut Tree,
    s: &mut Scratch,
    entry: &mut tar::Entry<'_, R>,
) -> Result<(), LayerError> {
    let mut kind = entry.header().entry_type();
    if kind.is_pax_global_extensions() {
        return Ok(());
    }
    tree.stats.entries += 1;
    s.raw.clear();
    s.raw.extend_from_slice(&entry.path_bytes());
    // Pre-POSIX tars mark directories only by the trailing slash.
    if kind.as_byte() == 0 && s.raw.last() == Some(&b'/') {
        kind = tar::EntryType::Directory;
    }
    clean_name(&s.raw, &mut s.name).map_err(|r| LayerError::entry(&s.raw, r))?;
    let meta = read_meta(entry, &s.raw, &mut s.xattrs)?;

    if s.name.is_empty() {
        if !kind.is_dir() {
            return Err(LayerError::entry(
                &s.raw,
                "the layer root must be a directory",
            ));
        }
        return tree.root_meta(&meta, &s.xattrs);
    }
    let (parent, base) = split_last(&s.name);
    if whiteout::in_meta_dir(parent) {
        return Ok(());
    }
    tree.links
        .resolve(parent, &mut s.resolved, &mut s.starts)
        .map_err(|r| LayerError::entry(&s.raw, r))?;

    match whiteout::classify(base) {
        TarName::Meta => Ok(()),
        TarName::Opaque => {
            let dir = tree.open_dir(&s.resolved, true, &s.raw, &mut s.c1)?;
            sys::set_xattr(XattrTarget::Fd(dir.as_fd()), OVERLAY_OPAQUE_XATTR, b"y")
                .map_err(|e| tree.io("set opaque xattr on", &s.resolved, e))
        }
        TarName::Whiteout(name) => {
            if matches!(name, b"" | b"." | b"..") {
                return Err(LayerError::entry(&s.raw, "invalid whiteout name"));
            }
            join(&s.resolved, name, &mut s.full);
            let dir = tree.open_dir(&s.resolved, true, &s.raw, &mut s.c1)?;
            let c = cstr(&mut s.c2, name).map_err(|e| tree.io("whiteout", &s.full, e))?;
            tree.make_whiteout(dir.as_fd(), c, &s.full, &meta)
        }
        TarName::Plain => {
            join(&s.resolved, base, &mut s.full);
            let dir = tree.open_dir(&s.resolved, true, &s.raw, &mut s.c1)?;
            let c = cstr(&mut s.c2, base).map_err(|e| tree.io("create", &s.full, e))?;
            let at = At {
                dir: dir.as_fd(),
                name: c,
                full: &s.full,
            };
            if kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse() {
                tree.make_file(at, entry, &meta, &s.xattrs, &mut s.copy)
            } else if kind.is_dir() {
                tree.make_dir(at, &meta, &s.xattrs)
            } else if kind.is_symlink() {
                let target = match entry.link_name_bytes() {
                    Some(t) if !t.is_empty() => t,
                    _ => return Err(LayerError::entry(&s.raw, "symlink without a target")),
                };
                let target_c = CString::new(&*target)
                    .map_err(|_| LayerError::entry(&s.raw, "symlink target contains a NUL byte"))?;
                tree.make_symlink(at, &target_c, &meta, &s.xattrs)
            } else if kind.is_hard_link() {
                let Some(target) = entry.link_name_bytes() else {
                    return Err(LayerError::entry(&s.raw, "hard link without a target"));
                };
                s.link.clear();
                s.link.extend_from_slice(&target);
                tree.make_hardlink(
                    at,
                    &s.raw,
                    &s.link,
                    &mut s.resolved,
                    &mut s.starts,
                    &mut s.c1,
                )
            } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
                let (fmt, dev) = if kind.is_fifo() {
                    (libc::S_IFIFO, 0)
                } else {
                    let h = entry.header();
                    let major = h.device_major().ok().flatten().unwrap_or(0);
                    let minor = h.device_minor().ok().flatten().unwrap_or(0);
                    let fmt = if kind.is_character_special() {
                        libc::S_IFCHR
                    } else {
                        libc::S_IFBLK
                    };
                    (fmt, libc::makedev(major, minor))
                };
                tree.make_node(at, fmt, dev, &meta, &s.xattrs)
            } else {
                Err(LayerError::entry(
                    &s.raw,
                    format!("unsupported tar entry type {:?}", kind.as_byte() as char),
                ))
            }
        }
    }
}

/// Header fields plus the PAX records we honour (xattrs, precise mtime).
fn read_meta<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    raw: &[u8],
    xattrs: &mut Vec<(CString, Vec<u8>)>,
) -> Result<Meta, LayerError> {
    let h = entry.header();
    let old = h.as_old();
    // Go's archive/tar (and so docker) reads a blank numeric field as 0.
    let num = |v: io::Result<u64>, field: &[u8]| match v {
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        v => v.map_err(|e| LayerError::entry(raw, format!("bad header: {e}"))),
    };
    let uid = num(h.uid(), &old.uid)?;
    let gid = num(h.gid(), &old.gid)?;
    let (Ok(uid), Ok(gid)) = (u32::try_from(uid), u32::try_from(gid)) else {
        return Err(LayerError::entry(raw, "uid/gid out of range"));
    };
    let mut meta = Meta {
        uid,
        gid,
        mode: num(h.mode().map(u64::from), &old.mode)? as u32 & 0o7777,
        mtime: num(h.mtime(), &old.mtime)?.min(i64::MAX as u64) as i64,
        mtime_nsec: 0,
    };
    xattrs.clear();
    let Some(pax) = entry.pax_extensions().map_err(LayerError::from_read)? else {
        return Ok(meta);
    };
    for ext in pax {
        let ext = ext.map_err(|e| LayerError::entry(raw, format!("bad PAX record: {e}")))?;
        let key = ext.key_bytes();
        if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
            if name.is_empty() || name.starts_with(OVERLAY_XATTR_PREFIX) {
                continue;
            }
            let name = CString::new(name)
                .map_err(|_| LayerError::entry(raw, "xattr name contains a NUL byte"))?;
            xattrs.push((name, ext.value_bytes().to_vec()));
        } else if key == b"mtime" {
            if let Some((sec, nsec)) = parse_pax_time(ext.value_bytes()) {
                meta.mtime = sec;
                meta.mtime_nsec = nsec;
            }
        }
    }
    Ok(meta)
}

/// Parses a PAX time (`1700000000.123456789`, possibly negative).
fn parse_pax_time(v: &[u8]) -> Option<(i64, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let sec: i64 = sec.parse().ok()?;
    if frac.is_empty() {
        return Some((sec, 0));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().chain("000000000".chars()).take(9).collect();
    let nsec: u32 = digits.parse().ok()?;
    if sec < 0 && nsec > 0 {
        // -1.5 means 1.5 s before the epoch.
        Some((sec - 1, 1_000_000_000 - nsec))
    } else {
        Some((sec, nsec))
    }
}

//! A minimal, deterministic tar writer: USTAR headers, with a PAX extended
//! header in front only when a field does not fit (long names, big ids or
//! sizes) or there are xattrs. That is the same shape Go's archive/tar
//! produces, so docker, skopeo and umoci read it; the tar crate's Builder
//! would use GNU long-name entries instead and rewrite our names.

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

const BLOCK: usize = 512;
/// Largest value of an 8-byte octal header field (7 digits + NUL).
const MAX_OCTAL_8: u64 = 0o7777777;
/// Largest value of a 12-byte octal header field.
const MAX_OCTAL_12: u64 = 0o77777777777;

/// One entry to write. `path` is relative, directories end with `/`.
pub struct Entry<'a> {
    pub path: &'a [u8],
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub size: u64,
    pub link: &'a [u8],
    pub dev: (u32, u32),
    /// (name, value), already sorted.
    pub xattrs: &'a [(Vec<u8>, Vec<u8>)],
}

pub struct TarOut<W: Write> {
    out: W,
    pax: Vec<u8>,
}

impl<W: Write> TarOut<W> {
    pub fn new(out: W) -> Self {
        TarOut {
            out,
            pax: Vec::new(),
        }
    }

    /// Writes the header(s) and exactly `e.size` bytes from `data`; if the
    /// source ends early (the file shrank under us) the rest is zeros so the
    /// archive stays well-formed.
    pub fn append(
        &mut self,
        e: &Entry<'_>,
        data: Option<&mut dyn Read>,
        buf: &mut Vec<u8>,
    ) -> io::Result<()> {
        let mut h = Header::new_ustar();
        self.pax.clear();
        {
            let u = h.as_ustar_mut().expect("ustar header");
            match split_ustar_path(e.path) {
                Some((prefix, name)) => {
                    u.prefix[..prefix.len()].copy_from_slice(prefix);
                    u.name[..name.len()].copy_from_slice(name);
                }
                None => {
                    pax_record(&mut self.pax, b"path", e.path);
                    let n = e.path.len().min(u.name.len());
                    u.name[..n].copy_from_slice(&e.path[..n]);
                }
            }
            if e.link.len() > u.linkname.len() {
                pax_record(&mut self.pax, b"linkpath", e.link);
            }
            let n = e.link.len().min(u.linkname.len());
            u.linkname[..n].copy_from_slice(&e.link[..n]);
        }
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_uid(self.pax_num(b"uid", e.uid, MAX_OCTAL_8));
        h.set_gid(self.pax_num(b"gid", e.gid, MAX_OCTAL_8));
        h.set_size(self.pax_num(b"size", e.size, MAX_OCTAL_12));
        h.set_mtime((e.mtime.max(0) as u64).min(MAX_OCTAL_12));
        if matches!(e.kind, EntryType::Char | EntryType::Block) {
            h.set_device_major(e.dev.0)?;
            h.set_device_minor(e.dev.1)?;
        }
        for (name, value) in e.xattrs {
            let mut key = b"SCHILY.xattr.".to_vec();
            key.extend_from_slice(name);
            pax_record(&mut self.pax, &key, value);
        }
        h.set_cksum();

        if !self.pax.is_empty() {
            self.write_pax_header(e.path)?;
        }
        self.out.write_all(h.as_bytes())?;
        if e.size > 0 {
            let data = data.expect("data for a non-empty entry");
            copy_exact(data, &mut self.out, e.size, buf)?;
            self.pad(e.size)?;
        }
        Ok(())
    }

    /// Writes the end-of-archive marker (two zero blocks) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Returns `v` if it fits the header field, else records it in PAX and
    /// puts 0 in the header.
    fn pax_num(&mut self, key: &[u8], v: u64, max: u64) -> u64 {
        if v <= max {
            return v;
        }
        pax_record(&mut self.pax, key, v.to_string().as_bytes());
        0
    }

    fn write_pax_header(&mut self, path: &[u8]) -> io::Result<()> {
        let mut h = Header::new_ustar();
        // Named like Go's archive/tar does; readers ignore the name.
        let base = path
            .strip_suffix(b"/")
            .unwrap_or(path)
            .rsplit(|&b| b == b'/')
            .next()
            .unwrap_or_default();
        let mut name = b"PaxHeaders.0/".to_vec();
        name.extend_from_slice(base);
        name.truncate(100);
        h.as_ustar_mut().expect("ustar header").name[..name.len()].copy_from_slice(&name);
        h.set_entry_type(EntryType::XHeader);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(self.pax.len() as u64);
        h.set_cksum();
        self.out.write_all(h.as_bytes())?;
        self.out.write_all(&self.pax)?;
        self.pad(self.pax.len() as u64)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }
}

fn copy_exact(
    data: &mut dyn Read,
    out: &mut dyn Write,
    size: u64,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    if buf.is_empty() {
        buf.resize(1024 * 1024, 0);
    }
    let mut left = size;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = match data.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    if left > 0 {
        tracing::warn!(
            missing = left,
            "file shrank while writing layer tar; padding with zeros"
        );
        let n = left.min(buf.len() as u64) as usize;
        buf[..n].fill(0);
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            out.write_all(&buf[..n])?;
            left -= n as u64;
        }
    }
    Ok(())
}

/// Splits a path into USTAR (prefix, name) fields, or None if it needs PAX.
fn split_ustar_path(p: &[u8]) -> Option<(&[u8], &[u8])> {
    if p.len() <= 100 {
        return Some((&[], p));
    }
    if p.len() > 155 + 1 + 100 {
        return None;
    }
    // The last slash that leaves a non-empty name of at most 100 bytes and a
    // prefix of at most 155. A trailing slash cannot be the split point.
    let last = p.len() - 1;
    (0..last.min(156))
        .rev()
        .filter(|&i| p[i] == b'/')
        .find(|&i| i <= 155 && last - i <= 100)
        .map(|i| (&p[..i], &p[i + 1..]))
}

/// Appends one PAX record, `"<len> key=value\n"`, where len counts itself.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = key.len() + value.len() + 3;
    let mut len = body + digits(body);
    if digits(len) != digits(body) {
        len += 1;
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn digits(n: usize) -> usize {
    n.to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        for vlen in 0..300 {
            let mut out = Vec::new();
            pax_record(&mut out, b"path", &vec![b'a'; vlen]);
            let sp = out.iter().position(|&b| b == b' ').unwrap();
            let n: usize = std::str::from_utf8(&out[..sp]).unwrap().parse().unwrap();
            assert_eq!(n, out.len(), "value length {vlen}");
        }
    }

    #[test]
    fn ustar_split() {
        let long = format!("{}/{}", "d".repeat(150), "f".repeat(100));
        let (p, n) = split_ustar_path(long.as_bytes()).unwrap();
        assert_eq!((p.len(), n.len()), (150, 100));
        assert!(split_ustar_path(format!("{}/", "d".repeat(120)).as_bytes()).is_none());
        assert!(split_ustar_path("x".repeat(101).as_bytes()).is_none());
    }
}

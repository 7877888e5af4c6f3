//! A minimal tar writer for archives of blobs.
//!
//! The tar crate copies entry data through `&mut dyn Write`, which defeats
//! std's `copy_file_range`/`splice` fast path; here the data is copied with
//! concrete types, so saving a 1 GB layer moves no bytes through userspace.

use std::io::{self, Read, Write};

const BLOCK: usize = 512;

pub struct TarOut<W: Write> {
    w: W,
}

impl<W: Write> TarOut<W> {
    pub fn new(w: W) -> TarOut<W> {
        TarOut { w }
    }

    fn header(&mut self, path: &str, size: u64, kind: tar::EntryType, mode: u32) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_path(path)?;
        h.set_size(size);
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        self.w.write_all(h.as_bytes())
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            self.w.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    pub fn dir(&mut self, path: &str) -> io::Result<()> {
        self.header(path, 0, tar::EntryType::Directory, 0o755)
    }

    pub fn bytes(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.header(path, data.len() as u64, tar::EntryType::Regular, 0o644)?;
        self.w.write_all(data)?;
        self.pad(data.len() as u64)
    }

    /// Append `size` bytes from `r` (a file, so the copy can stay in the kernel).
    pub fn file<R: Read>(&mut self, path: &str, r: &mut R, size: u64) -> io::Result<()> {
        self.header(path, size, tar::EntryType::Regular, 0o644)?;
        self.w.flush()?;
        let copied = io::copy(&mut r.take(size), &mut self.w)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path}: blob shorter than recorded"),
            ));
        }
        self.pad(size)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.w.write_all(&[0u8; BLOCK * 2])?;
        self.w.flush()?;
        Ok(self.w)
    }
}

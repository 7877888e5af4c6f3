//! Reading log files: a cursor over one open file, `--tail`'s backwards
//! scan, and the rotated files `<path>.1`, `<path>.2`, ...

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::reader::Output;
use super::LogError;

/// Reads are done in blocks of this size, forwards and backwards.
const BLOCK: usize = 64 * 1024;

/// `<path>.<n>`.
pub(crate) fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Which file a path or descriptor is: rotation renames, so a changed id
/// behind `<path>` means a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

/// The id of the file at `path`, `None` if there is none.
pub(crate) fn file_id(path: &Path) -> Result<Option<FileId>, LogError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io("reading", path, e)),
    }
}

/// An open log file and how far it has been read.
pub(crate) struct FileCursor {
    file: File,
    path: PathBuf,
    pub(crate) id: FileId,
    pub(crate) pos: u64,
    /// An unterminated line at the read position.
    partial: Vec<u8>,
    block: Vec<u8>,
}

impl FileCursor {
    /// Open `path` at offset 0; `None` if it does not exist.
    pub(crate) fn open(path: &Path) -> Result<Option<FileCursor>, LogError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io("opening", path, e)),
        };
        let m = file
            .metadata()
            .map_err(|e| LogError::io("reading", path, e))?;
        Ok(Some(FileCursor {
            file,
            path: path.to_path_buf(),
            id: FileId {
                dev: m.dev(),
                ino: m.ino(),
            },
            pos: 0,
            partial: Vec::new(),
            block: Vec::new(),
        }))
    }

    /// The file's current length.
    pub(crate) fn len(&self) -> Result<u64, LogError> {
        let m = self.file.metadata().map_err(|e| self.err(e))?;
        Ok(m.len())
    }

    /// Forget what was read: the file was truncated.
    pub(crate) fn restart(&mut self) {
        self.pos = 0;
        self.partial.clear();
    }

    /// Hand the complete lines from the read position up to EOF (or
    /// `limit`) to `out`; returns how many bytes were read.
    pub(crate) fn read_lines(
        &mut self,
        limit: Option<u64>,
        out: &mut Output,
    ) -> Result<u64, LogError> {
        let mut block = std::mem::take(&mut self.block);
        block.resize(BLOCK, 0);
        let res = self.read_lines_with(&mut block, limit, out);
        self.block = block;
        res
    }

    fn read_lines_with(
        &mut self,
        block: &mut [u8],
        limit: Option<u64>,
        out: &mut Output,
    ) -> Result<u64, LogError> {
        let mut total = 0;
        while !out.done() {
            let want = match limit {
                Some(l) if l <= self.pos => break,
                Some(l) => block.len().min((l - self.pos) as usize),
                None => block.len(),
            };
            let n = match self.file.read_at(&mut block[..want], self.pos) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.err(e)),
            };
            self.pos += n as u64;
            total += n as u64;
            let mut data = &block[..n];
            while let Some(nl) = data.iter().position(|&b| b == b'\n') {
                let (line, rest) = data.split_at(nl + 1);
                data = rest;
                if self.partial.is_empty() {
                    out.line(line)?;
                } else {
                    self.partial.extend_from_slice(line);
                    let res = out.line(&self.partial);
                    self.partial.clear();
                    res?;
                }
            }
            self.partial.extend_from_slice(data);
        }
        Ok(total)
    }

    /// The file is complete: hand an unterminated last line to `out` too.
    pub(crate) fn finish(&mut self, out: &mut Output) -> Result<(), LogError> {
        if self.partial.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.partial);
        out.line(&line)
    }

    /// Position the cursor at the start of the last `n` lines before `end`;
    /// returns how many lines there are (at most `n`). Reads backwards in
    /// blocks, so only the tail of the file is touched.
    pub(crate) fn seek_tail(&mut self, end: u64, n: usize) -> Result<usize, LogError> {
        self.partial.clear();
        let (start, found) = tail_start(&self.file, end, n).map_err(|e| self.err(e))?;
        self.pos = start;
        Ok(found)
    }

    fn err(&self, e: io::Error) -> LogError {
        LogError::io("reading", &self.path, e)
    }
}

/// Where the last `n` lines of the first `end` bytes of `file` start, and
/// how many lines that is (fewer than `n` when the file is shorter). An
/// unterminated last line counts as a line.
fn tail_start(file: &File, end: u64, n: usize) -> io::Result<(u64, usize)> {
    if n == 0 || end == 0 {
        return Ok((end, 0));
    }
    let mut block = vec![0u8; BLOCK];
    let mut pos = end;
    let mut found = 0;
    while pos > 0 {
        let start = pos.saturating_sub(BLOCK as u64);
        let buf = &mut block[..(pos - start) as usize];
        file.read_exact_at(buf, start)?;
        // The byte at end-1 terminates the last line, it starts none.
        let mut upto = if pos == end { buf.len() - 1 } else { buf.len() };
        while let Some(i) = buf[..upto].iter().rposition(|&b| b == b'\n') {
            found += 1;
            if found == n {
                return Ok((start + i as u64 + 1, n));
            }
            upto = i;
        }
        pos = start;
    }
    Ok((0, found + 1))
}

/// The rotated files older than the file `current` (or all of them when
/// there is none), oldest first, opened at offset 0. Scans `<path>.1`,
/// `<path>.2`, ... until two numbers in a row are missing (a rotation in
/// progress leaves one gap); a file seen twice (renamed under us) counts once.
pub(crate) fn open_rotated(
    path: &Path,
    current: Option<FileId>,
) -> Result<Vec<FileCursor>, LogError> {
    let mut newest_first: Vec<FileCursor> = Vec::new();
    let mut missing = 0;
    let mut n = 1;
    while missing < 2 && n < 100_000 {
        match FileCursor::open(&rotated_path(path, n))? {
            Some(c) => {
                missing = 0;
                if Some(c.id) == current {
                    // `current` was rotated after we opened it: only what
                    // is older than it counts.
                    newest_first.clear();
                } else if !newest_first.iter().any(|o| o.id == c.id) {
                    newest_first.push(c);
                }
            }
            None => missing += 1,
        }
        n += 1;
    }
    newest_first.reverse();
    Ok(newest_first)
}

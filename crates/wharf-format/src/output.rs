//! Where `--format` output goes: held back while it is small, streamed
//! once it is not.
//!
//! Docker's CLI renders everything into a buffer and prints it at the end,
//! so a template error prints nothing but the error. [`HeldOutput`] does
//! the same up to [`HOLD_BYTES`]; beyond that it writes through, so a
//! template that prints without end (`{{range 1000000000}}...`) costs time,
//! not memory. [`Capped`] collects text that must be whole before it can
//! be written (a table, aligned only once every row is known) and refuses
//! to grow past its bound.

use std::io::{self, Write};

/// How much output is held back before it is streamed.
pub const HOLD_BYTES: usize = 16 << 20;

/// The most text a table may hold before alignment (about 100,000 rows
/// of a default `ps` table). Past it `--format` without `table` still
/// streams.
pub const MAX_TABLE_BYTES: usize = 16 << 20;

/// Text written to a byte buffer by this crate (whole `str`s only, so it
/// is UTF-8) back as a `String`.
pub(crate) fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A writer that holds the first [`HOLD_BYTES`] in memory, then writes
/// through to `inner`. Call [`HeldOutput::finish`] on success; dropped
/// without it, whatever is still held is discarded (nothing printed
/// before an error, as docker).
pub struct HeldOutput<W: Write> {
    inner: W,
    held: Vec<u8>,
    streaming: bool,
}

impl<W: Write> HeldOutput<W> {
    pub fn new(inner: W) -> Self {
        HeldOutput {
            inner,
            held: Vec::new(),
            streaming: false,
        }
    }

    /// Writes what is held and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        self.inner.write_all(&self.held)?;
        self.inner.flush()
    }
}

impl<W: Write> Write for HeldOutput<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.streaming {
            if self.held.len() + data.len() <= HOLD_BYTES {
                self.held.extend_from_slice(data);
                return Ok(data.len());
            }
            self.streaming = true;
            self.inner.write_all(&self.held)?;
            self.held = Vec::new();
        }
        self.inner.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.streaming {
            self.inner.flush()?;
        }
        Ok(())
    }
}

/// An in-memory buffer that refuses to grow past `limit` bytes (the write
/// fails and [`Capped::overflowed`] says why).
pub(crate) struct Capped {
    pub(crate) buf: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Capped {
    pub(crate) fn new(limit: usize) -> Self {
        Capped {
            buf: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.overflowed = true;
            return Err(io::Error::other("output over its limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_waits_for_finish() {
        let mut sink = Vec::new();
        let mut out = HeldOutput::new(&mut sink);
        out.write_all(b"hello").unwrap();
        drop(out);
        assert!(sink.is_empty(), "dropped without finish: nothing printed");
        let mut out = HeldOutput::new(&mut sink);
        out.write_all(b"hello").unwrap();
        out.finish().unwrap();
        assert_eq!(sink, b"hello");
    }

    #[test]
    fn large_output_streams() {
        let mut sink = Vec::new();
        let mut out = HeldOutput::new(&mut sink);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..(HOLD_BYTES >> 20) + 1 {
            out.write_all(&chunk).unwrap();
        }
        assert!(out.held.is_empty());
        drop(out);
        assert_eq!(sink.len(), HOLD_BYTES + (1 << 20));
    }

    #[test]
    fn capped_refuses_to_grow() {
        let mut c = Capped::new(4);
        c.write_all(b"abcd").unwrap();
        assert!(c.write_all(b"e").is_err());
        assert!(c.overflowed());
        assert_eq!(c.buf, b"abcd");
    }
}

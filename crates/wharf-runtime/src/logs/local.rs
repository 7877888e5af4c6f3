//! docker's `local` log driver format: each record is a protobuf
//! `LogEntry` (moby's `api/types/plugins/logdriver/entry.proto`: source,
//! time in nanoseconds, the line without its `\n`, and partial-line
//! metadata) framed by its big-endian u32 length before and after, in
//! `local-logs/container.log`; rotated files are `container.log.N.gz`
//! (or `.N` uncompressed). Encoding for the writer, decoding and reading
//! for `logs`.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::cursor::rotated_path;
use super::reader::Output;
use super::{LogError, LogRecord, ReadOptions, Stream};

/// What part of a line a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// A whole line.
    Whole,
    /// One piece of a line logged in parts (longer than docker's 16 KiB
    /// buffer, or cut by the container's exit); `last` ends the line.
    Part {
        id: &'a str,
        ordinal: u32,
        last: bool,
    },
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
    if b.is_empty() {
        return;
    }
    out.push(tag);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Append one framed record; `line` without its `\n`.
pub(crate) fn encode_local(
    out: &mut Vec<u8>,
    line: &[u8],
    stream: Stream,
    time: DateTime<Utc>,
    piece: Piece,
) {
    let mut entry = Vec::with_capacity(line.len() + 32);
    bytes_field(&mut entry, 0x0a, stream.as_str().as_bytes());
    let nanos = time.timestamp_nanos_opt().unwrap_or(0);
    if nanos != 0 {
        entry.push(0x10);
        varint(&mut entry, nanos as u64);
    }
    bytes_field(&mut entry, 0x1a, line);
    if let Piece::Part { id, ordinal, last } = piece {
        entry.extend_from_slice(&[0x20, 1]);
        let mut meta = Vec::with_capacity(80);
        if last {
            meta.extend_from_slice(&[0x08, 1]);
        }
        bytes_field(&mut meta, 0x12, id.as_bytes());
        if ordinal != 0 {
            meta.push(0x18);
            varint(&mut meta, u64::from(ordinal));
        }
        entry.push(0x2a);
        varint(&mut entry, meta.len() as u64);
        entry.extend_from_slice(&meta);
    }
    let len = (entry.len() as u32).to_be_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&entry);
    out.extend_from_slice(&len);
}

/// A protobuf reader over one message.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    /// The next (field number, value) with length-delimited values as
    /// bytes and varints as numbers; other wire types end the message.
    fn next(&mut self) -> Option<(u64, Result<u64, &'a [u8]>)> {
        if self.0.is_empty() {
            return None;
        }
        let key = self.varint()?;
        match key & 7 {
            0 => Some((key >> 3, Ok(self.varint()?))),
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                if len > self.0.len() {
                    return None;
                }
                let (v, rest) = self.0.split_at(len);
                self.0 = rest;
                Some((key >> 3, Err(v)))
            }
            _ => None,
        }
    }
}

/// One entry (without its framing) as a record: its line gets its `\n`
/// back unless it is a piece that does not end the line.
fn decode_entry(entry: &[u8]) -> Option<LogRecord> {
    let mut f = Fields(entry);
    let (mut stream, mut nanos, mut line) = (None, 0i64, Vec::new());
    let (mut partial, mut last) = (false, false);
    while let Some((field, value)) = f.next() {
        match (field, value) {
            (1, Err(s)) => stream = Stream::from_name(std::str::from_utf8(s).ok()?),
            (2, Ok(n)) => nanos = n as i64,
            (3, Err(l)) => line = l.to_vec(),
            (4, Ok(p)) => partial = p != 0,
            (5, Err(meta)) => {
                let mut m = Fields(meta);
                while let Some((field, value)) = m.next() {
                    if let (1, Ok(l)) = (field, value) {
                        last = l != 0;
                    }
                }
            }
            _ => {}
        }
    }
    if !partial || last {
        line.push(b'\n');
    }
    Some(LogRecord {
        stream: stream?,
        time: DateTime::from_timestamp_nanos(nanos),
        line,
        attrs: Default::default(),
    })
}

/// The framed records in `bytes`, and how many bytes they take (an
/// incomplete record at the end is left for later).
fn decode_all(bytes: &[u8]) -> (Vec<LogRecord>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(head) = bytes.get(at..at + 4) {
        let len = u32::from_be_bytes(head.try_into().expect("4 bytes")) as usize;
        let Some(entry) = bytes.get(at + 4..at + 4 + len) else {
            break;
        };
        if bytes.get(at + 4 + len..at + 8 + len).is_none() {
            break;
        }
        match decode_entry(entry) {
            Some(r) => out.push(r),
            None => tracing::warn!("skipping a corrupt local log record"),
        }
        at += 8 + len;
    }
    (out, at)
}

/// The records of a rotated file (`.N.gz` or `.N`), `None` if neither.
fn rotated_records(path: &Path, n: u32) -> Result<Option<Vec<LogRecord>>, LogError> {
    let plain = rotated_path(path, n);
    let mut gz = plain.clone().into_os_string();
    gz.push(".gz");
    let bytes = match std::fs::File::open(&gz) {
        Ok(f) => {
            let mut b = Vec::new();
            flate2::read::GzDecoder::new(f)
                .read_to_end(&mut b)
                .map_err(|e| LogError::io("reading", &gz, e))?;
            b
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::read(&plain) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io("reading", &plain, e)),
        },
        Err(e) => return Err(LogError::io("opening", &gz, e)),
    };
    Ok(Some(decode_all(&bytes).0))
}

/// `logs` of a `local` log at `path`: the rotated files (oldest first)
/// then the current one, with `opts`' filters; with `follow`, the current
/// file is polled (and followed across rotation) until `stop()`.
pub(crate) fn read_local(
    path: &Path,
    opts: &ReadOptions,
    out: &mut Output,
    stop: &dyn Fn() -> bool,
) -> Result<(), LogError> {
    let mut current = open(path)?;
    let mut buf = Vec::new();
    if let Some(f) = current.as_mut() {
        f.read_to_end(&mut buf)
            .map_err(|e| LogError::io("reading", path, e))?;
    }
    let (mut records, used) = decode_all(&buf);
    buf.drain(..used);
    // `.1` is the newest rotated file: each older one goes in front.
    let mut n = 1;
    while let Some(mut older) = rotated_records(path, n)? {
        older.append(&mut records);
        records = older;
        n += 1;
    }
    if let Some(t) = opts.tail {
        records.drain(..records.len().saturating_sub(t));
    }
    for r in &records {
        out.record(r.clone())?;
    }
    if !opts.follow {
        return Ok(());
    }
    let id = |f: &std::fs::File| {
        use std::os::unix::fs::MetadataExt;
        f.metadata().map(|m| (m.dev(), m.ino())).ok()
    };
    loop {
        let stopping = stop();
        if let Some(f) = current.as_mut() {
            f.read_to_end(&mut buf)
                .map_err(|e| LogError::io("reading", path, e))?;
            let (new, used) = decode_all(&buf);
            buf.drain(..used);
            for r in new {
                out.record(r)?;
            }
        }
        if stopping || out.done() {
            return Ok(());
        }
        // Rotated away: what was left in it is read; on with the new one.
        let now = open(path)?;
        if now.as_ref().and_then(id) != current.as_ref().and_then(id) {
            current = now;
            buf.clear();
            continue;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn open(path: &Path) -> Result<Option<std::fs::File>, LogError> {
    match std::fs::File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io("opening", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes docker 20.10 wrote for `line 88` on stdout.
    #[test]
    fn records_are_dockers_bytes() {
        let time = DateTime::parse_from_rfc3339("2026-12-06T07:19:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut out = Vec::new();
        encode_local(&mut out, b"line 88", Stream::Stdout, time, Piece::Whole);
        assert_eq!(&out[..6], &[0, 0, 0, 0x1b, 0x0a, 0x06]);
        assert_eq!(&out[6..12], b"stdout");
        assert_eq!(out.len(), 0x1b + 8);
        let (recs, used) = decode_all(&out);
        assert_eq!(used, out.len());
        assert_eq!(recs[0].line, b"line 88\n");
        assert_eq!(recs[0].time, time);
        assert_eq!(recs[0].stream, Stream::Stdout);
    }

    #[test]
    fn pieces_keep_their_newline_only_at_the_end() {
        let t = DateTime::from_timestamp_nanos(1);
        let mut out = Vec::new();
        let id = "a".repeat(64);
        encode_local(
            &mut out,
            b"ab",
            Stream::Stderr,
            t,
            Piece::Part {
                id: &id,
                ordinal: 1,
                last: false,
            },
        );
        encode_local(
            &mut out,
            b"cd",
            Stream::Stderr,
            t,
            Piece::Part {
                id: &id,
                ordinal: 2,
                last: true,
            },
        );
        out.extend_from_slice(&[0, 0, 0]);
        let (recs, used) = decode_all(&out);
        assert_eq!(used, out.len() - 3, "an incomplete frame waits");
        let lines: Vec<&[u8]> = recs.iter().map(|r| &r.line[..]).collect();
        assert_eq!(lines, [&b"ab"[..], &b"cd\n"[..]]);
    }
}

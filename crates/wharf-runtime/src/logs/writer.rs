//! The writer the monitor copies the container's output through, in the
//! json-file or the local format.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::cursor::rotated_path;
use super::encode::encode_record;
use super::local::{encode_local, Piece};
use super::timefmt::TimeFormatter;
use super::{LogError, LogFormat, LogOptions, Stream};

/// Docker's copier buffer: a line longer than this is logged in pieces.
pub(crate) const MAX_LINE: usize = 16 * 1024;

type Clock = Box<dyn FnMut() -> DateTime<Utc> + Send>;

/// Appends container output to a json-file log. Not synchronized: one
/// writer per log file (the monitor).
pub struct LogWriter {
    path: PathBuf,
    file: File,
    opts: LogOptions,
    /// Bytes in the current file, as far as we wrote them.
    size: u64,
    clock: Clock,
    /// Per stream (stdout, stderr): the unfinished line.
    pending: [Pending; 2],
    /// Records waiting for the single write(2) at the end of `write`.
    out: Vec<u8>,
    fmt: TimeFormatter,
    /// json-file's `,"attrs":{...}`, made once.
    attrs: Vec<u8>,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    /// Set once a 16 KiB piece of the line was logged: docker stamps all
    /// pieces of a line with the time of the first one.
    time: Option<DateTime<Utc>>,
    /// The pieces of a line logged so far, and the line's ID (the local
    /// format records both).
    ordinal: u32,
    id: String,
}

impl LogWriter {
    /// Open (create, mode 0640) `path` for appending.
    pub fn open(path: &Path, opts: LogOptions) -> Result<LogWriter, LogError> {
        LogWriter::with_clock(path, opts, Utc::now)
    }

    /// [`LogWriter::open`] with the time source for the records' `time`.
    pub fn with_clock(
        path: &Path,
        opts: LogOptions,
        clock: impl FnMut() -> DateTime<Utc> + Send + 'static,
    ) -> Result<LogWriter, LogError> {
        let file = open_append(path)?;
        let size = file
            .metadata()
            .map_err(|e| LogError::io("opening", path, e))?
            .len();
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            clock: Box::new(clock),
            attrs: super::encode::attrs_fragment(&opts.attrs),
            opts,
            pending: Default::default(),
            out: Vec::with_capacity(64 * 1024),
            fmt: TimeFormatter::default(),
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Log output of `stream`: one record per complete line (and per 16 KiB
    /// of a longer line); the rest waits for the next call.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) -> Result<(), LogError> {
        let idx = stream as usize;
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = MAX_LINE - self.pending[idx].buf.len();
            let window = &rest[..rest.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    let (line, tail) = rest.split_at(nl + 1);
                    rest = tail;
                    // The end of a line logged in pieces is its last piece.
                    let (time, ends) = match self.pending[idx].time.take() {
                        Some(t) => (t, true),
                        None => ((self.clock)(), false),
                    };
                    let mut buf = std::mem::take(&mut self.pending[idx].buf);
                    buf.extend_from_slice(line);
                    let res = self.piece(idx, stream, &buf, time, ends);
                    buf.clear();
                    self.pending[idx].buf = buf;
                    res?;
                }
                None => {
                    self.pending[idx].buf.extend_from_slice(window);
                    rest = &rest[window.len()..];
                    if self.pending[idx].buf.len() == MAX_LINE {
                        self.flush_stream(idx, false)?;
                    }
                }
            }
        }
        self.flush_out()
    }

    /// Log the unfinished lines (without `\n`): at container exit.
    pub fn flush_partial(&mut self) -> Result<(), LogError> {
        self.flush_stream(Stream::Stdout as usize, true)?;
        self.flush_stream(Stream::Stderr as usize, true)?;
        self.flush_out()
    }

    /// Log stream `idx`'s pending bytes as a partial record; `last`: the
    /// line ends here (container exit) rather than continuing.
    fn flush_stream(&mut self, idx: usize, last: bool) -> Result<(), LogError> {
        if self.pending[idx].buf.is_empty() {
            return Ok(());
        }
        let stream = if idx == 0 {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        let time = match self.pending[idx].time {
            Some(t) => t,
            None => (self.clock)(),
        };
        // Later pieces of this line carry the same time.
        self.pending[idx].time = if last { None } else { Some(time) };
        let buf = std::mem::take(&mut self.pending[idx].buf);
        let res = self.piece(idx, stream, &buf, time, false);
        self.pending[idx].buf = buf;
        self.pending[idx].buf.clear();
        if last {
            self.pending[idx].ordinal = 0;
        }
        res
    }

    /// Log `line` of stream `idx`: a whole line, or the next piece of one
    /// (`ends`: the piece that ends it; `line` without `\n`: one that
    /// does not).
    fn piece(
        &mut self,
        idx: usize,
        stream: Stream,
        line: &[u8],
        time: DateTime<Utc>,
        ends: bool,
    ) -> Result<(), LogError> {
        if !ends && line.ends_with(b"\n") {
            return self.record(stream, line, time, Piece::Whole);
        }
        let p = &mut self.pending[idx];
        if p.ordinal == 0 && self.opts.format == LogFormat::Local {
            p.id = random_id();
        }
        p.ordinal += 1;
        let (ordinal, id) = (p.ordinal, std::mem::take(&mut p.id));
        if ends {
            p.ordinal = 0;
        }
        let res = self.record(
            stream,
            line,
            time,
            Piece::Part {
                id: &id,
                ordinal,
                last: ends,
            },
        );
        if !ends {
            self.pending[idx].id = id;
        }
        res
    }

    /// Queue one record, rotating first when the file is full (docker
    /// checks before each record).
    fn record(
        &mut self,
        stream: Stream,
        line: &[u8],
        time: DateTime<Utc>,
        piece: Piece,
    ) -> Result<(), LogError> {
        if let Some(max) = self.opts.max_size {
            if self.size + self.out.len() as u64 >= max {
                self.flush_out()?;
                self.rotate()?;
            }
        }
        match self.opts.format {
            LogFormat::JsonFile => encode_record(
                &mut self.out,
                line,
                stream,
                time,
                &mut self.fmt,
                &self.attrs,
            ),
            LogFormat::Local => {
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                encode_local(&mut self.out, line, stream, time, piece)
            }
        }
        Ok(())
    }

    fn flush_out(&mut self) -> Result<(), LogError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let res = self.file.write_all(&self.out);
        if res.is_ok() {
            self.size += self.out.len() as u64;
        }
        self.out.clear();
        res.map_err(|e| LogError::io("writing", &self.path, e))
    }

    /// Docker's rotation: drop `<path>.<max-1>`, shift `.N` to `.N+1`,
    /// `<path>` to `.1`, start an empty `<path>`. Unlike docker, only the
    /// files up to the first missing number are shifted (docker tries every
    /// number up to max-file, which is slow for a large max-file).
    /// With `compress`, rotated files are `<path>.N.gz` and `<path>.1` is
    /// gzipped as it is made (docker does that in the background).
    fn rotate(&mut self) -> Result<(), LogError> {
        let max = self.opts.max_file.max(1);
        let err = |e| LogError::io("rotating", &self.path, e);
        let compress = self.opts.compress;
        let rotated = |n: u32| {
            let mut p = rotated_path(&self.path, n).into_os_string();
            if compress {
                p.push(".gz");
            }
            PathBuf::from(p)
        };
        if max >= 2 {
            ignore_missing(std::fs::remove_file(rotated(max - 1))).map_err(err)?;
            let mut last = 1;
            while last + 1 < max && rotated(last).exists() {
                last += 1;
            }
            for i in (2..=last).rev() {
                ignore_missing(std::fs::rename(rotated(i - 1), rotated(i))).map_err(err)?;
            }
            let first = rotated_path(&self.path, 1);
            ignore_missing(std::fs::rename(&self.path, &first)).map_err(err)?;
            if compress {
                gzip(&first, &rotated(1)).map_err(err)?;
            }
        }
        let file = open_append(&self.path)?;
        file.set_len(0).map_err(err)?;
        self.file = file;
        self.size = 0;
        Ok(())
    }
}

/// `from` gzipped into `to` (made 0640 like the log), then removed.
fn gzip(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut input = File::open(from)?;
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(wharf_store::private::PRIVATE_FILE_MODE)
        .open(to)?;
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    std::io::copy(&mut input, &mut gz)?;
    gz.finish()?;
    std::fs::remove_file(from)
}

/// 64 random hex digits: the ID of a line logged in pieces.
fn random_id() -> String {
    let mut bytes = [0u8; 32];
    let _ =
        File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn open_append(path: &Path) -> Result<File, LogError> {
    // `local-logs/` (0700, as docker makes it) the first time.
    if let Some(dir) = path
        .parent()
        .filter(|d| d.ends_with("local-logs") && !d.exists())
    {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(e),
            })
            .map_err(|e| LogError::io("opening", dir, e))?;
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        // What the container prints may be secret (docker: 0640).
        .mode(wharf_store::private::PRIVATE_FILE_MODE)
        .open(path)
        .map_err(|e| LogError::io("opening", path, e))
}

fn ignore_missing(res: std::io::Result<()>) -> std::io::Result<()> {
    match res {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

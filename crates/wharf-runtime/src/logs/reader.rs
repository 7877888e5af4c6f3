//! `logs`: reading a json-file log, with docker's filters.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::cursor::{open_rotated, FileCursor};
use super::decode::decode_record;
use super::timefmt::rfc3339_nano_fixed;
use super::{follow, LogError, LogRecord, Stream};

/// What `logs` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// `--tail N`: only the last N records (counted before the other
    /// filters, like docker); `None`: all.
    pub tail: Option<usize>,
    /// `--since`: skip records before this time.
    pub since: Option<DateTime<Utc>>,
    /// `--until`: stop at the first record after this time.
    pub until: Option<DateTime<Utc>>,
    /// `--timestamps`; not used by [`read_logs`], see [`format_record`].
    pub timestamps: bool,
    /// `--follow`.
    pub follow: bool,
    /// Which streams to hand to the sink.
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for ReadOptions {
    /// Everything from both streams, once.
    fn default() -> ReadOptions {
        ReadOptions {
            tail: None,
            since: None,
            until: None,
            timestamps: false,
            follow: false,
            stdout: true,
            stderr: true,
        }
    }
}

/// Read records (oldest first, across rotated files `<path>.N` .. `<path>.1`,
/// `<path>`) and hand those that pass the filters to `sink`.
///
/// With `follow`, keep polling for new records (and across rotation) until
/// `stop()` returns true, then drain what is left. A missing log reads as
/// empty (when following: until it appears). Errors of `sink` end the read
/// with [`LogError::Sink`].
pub fn read_logs(
    path: &Path,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(&LogRecord) -> std::io::Result<()>,
    stop: &dyn Fn() -> bool,
) -> Result<(), LogError> {
    let mut out = Output {
        opts,
        sink,
        done: false,
    };
    // The current file first: files rotated after this are found by
    // following, those rotated before are older than it.
    let mut current = FileCursor::open(path)?;
    let end = match &current {
        Some(c) => c.len()?,
        None => 0,
    };
    let mut rotated = open_rotated(path, current.as_ref().map(|c| c.id))?;
    if let Some(n) = opts.tail {
        let mut left = n;
        if let Some(c) = current.as_mut() {
            left -= c.seek_tail(end, left)?;
        }
        for f in rotated.iter_mut().rev() {
            let len = f.len()?;
            left -= f.seek_tail(len, left)?;
        }
    }
    for f in &mut rotated {
        f.read_lines(None, &mut out)?;
        f.finish(&mut out)?;
    }
    if opts.follow {
        let newest_rotated = rotated.last().map(|f| f.id);
        drop(rotated);
        return follow::follow(path, current, newest_rotated, &mut out, stop);
    }
    if let Some(c) = current.as_mut() {
        c.read_lines(Some(end), &mut out)?;
        c.finish(&mut out)?;
    }
    Ok(())
}

/// [`read_logs`] for a log in `format` (`local`'s own files and framing).
pub fn read_logs_as(
    format: super::LogFormat,
    path: &Path,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(&LogRecord) -> std::io::Result<()>,
    stop: &dyn Fn() -> bool,
) -> Result<(), LogError> {
    match format {
        super::LogFormat::JsonFile => read_logs(path, opts, sink, stop),
        super::LogFormat::Local => {
            let mut out = Output {
                opts,
                sink,
                done: false,
            };
            super::local::read_local(path, opts, &mut out, stop)
        }
    }
}

/// `docker logs --details`: [`format_record`] with the record's `attrs`
/// first (`k=v,k=v` and a space; a lone space without any).
pub fn format_record_details(rec: &LogRecord, timestamps: bool) -> Vec<u8> {
    render(rec, timestamps, true)
}

/// What `docker logs` prints for a record: with `timestamps`, the time in
/// moby's `RFC3339NanoFixed` (always nine fraction digits) and a space,
/// then the line's bytes. The caller routes stdout and stderr records to
/// its own stdout and stderr.
pub fn format_record(rec: &LogRecord, timestamps: bool) -> Vec<u8> {
    render(rec, timestamps, false)
}

fn render(rec: &LogRecord, timestamps: bool, details: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(rec.line.len() + if timestamps { 31 } else { 0 });
    if timestamps {
        rfc3339_nano_fixed(rec.time, &mut out);
        out.push(b' ');
    }
    if details {
        let attrs: Vec<String> = rec.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.extend_from_slice(attrs.join(",").as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(&rec.line);
    out
}

/// Decodes raw lines, applies the filters and feeds the sink.
pub(crate) struct Output<'a> {
    opts: &'a ReadOptions,
    sink: &'a mut dyn FnMut(&LogRecord) -> std::io::Result<()>,
    /// A record past `until` was seen: nothing more to hand out.
    done: bool,
}

impl Output<'_> {
    pub(crate) fn done(&self) -> bool {
        self.done
    }

    /// Whether `--until` lies before `now`: later records cannot match.
    pub(crate) fn until_passed(&self, now: DateTime<Utc>) -> bool {
        self.opts.until.is_some_and(|u| now > u)
    }

    /// One raw line of the file.
    pub(crate) fn line(&mut self, raw: &[u8]) -> Result<(), LogError> {
        if self.done || raw.trim_ascii().is_empty() {
            return Ok(());
        }
        let rec = match decode_record(raw) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, line = %String::from_utf8_lossy(raw).trim_end(), "skipping corrupt log line");
                return Ok(());
            }
        };
        self.record(rec)
    }

    /// One decoded record, through the filters.
    pub(crate) fn record(&mut self, rec: LogRecord) -> Result<(), LogError> {
        if self.done {
            return Ok(());
        }
        if self.opts.since.is_some_and(|s| rec.time < s) {
            return Ok(());
        }
        if self.opts.until.is_some_and(|u| rec.time > u) {
            self.done = true;
            return Ok(());
        }
        let wanted = match rec.stream {
            Stream::Stdout => self.opts.stdout,
            Stream::Stderr => self.opts.stderr,
        };
        if !wanted {
            return Ok(());
        }
        (self.sink)(&rec).map_err(LogError::Sink)
    }
}

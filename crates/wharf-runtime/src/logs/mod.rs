//! Docker's `json-file` log driver (and its `local` one, in `local`): the
//! on-disk format of `<id>-json.log`, the [`LogWriter`] the per-container
//! monitor copies output through, and the reader ([`read_logs`]) behind
//! `logs`.
//!
//! # Format
//!
//! One JSON object per line, byte-compatible with moby's
//! `jsonlog.JSONLogs.MarshalJSONBuf`:
//!
//! ```text
//! {"log":"hello\n","stream":"stdout","time":"2026-11-22T05:00:21.123456789Z"}
//! ```
//!
//! - `log` is the raw bytes of one line including its `\n`, escaped like
//!   moby's ffjson-derived encoder (invalid UTF-8 bytes become `\ufffd`,
//!   `<>&` and U+2028/U+2029 are `\u`-escaped, control bytes other than
//!   `\n`/`\r` are `\u00XX`). A line longer than 16 KiB is split into
//!   16 KiB records without `\n` (docker's copier buffer), and what is left
//!   when the container exits is written without `\n` too. All pieces of a
//!   split line carry the time of the first piece, like docker.
//! - `stream` is `stdout` or `stderr`; with a tty everything is `stdout` and
//!   lines end in `\r\n`, kept as they are.
//! - `time` is Go's `time.RFC3339Nano` in UTC (trailing zeros trimmed).
//!
//! # Writing
//!
//! [`LogWriter`] appends (`O_APPEND`, mode 0640), never fsyncs, and writes
//! all records produced by one [`LogWriter::write`] call with one write(2),
//! so a concurrent reader only ever sees whole records. With
//! [`LogOptions::max_size`] it rotates like docker: once the file has
//! reached `max-size`, `<path>` becomes `<path>.1`, `<path>.1` becomes
//! `<path>.2` and so on, keeping `max-file` files in all (the current one
//! plus `max-file - 1` rotated ones); with `max-file` 1 the file is
//! truncated in place.
//!
//! # Reading
//!
//! [`read_logs`] hands records to a sink, oldest first across the rotated
//! files. `--tail` reads backwards from the end in blocks; like docker it
//! counts raw records before the `--since`/stream filters apply, and
//! `--until` stops at the first later record. Corrupt lines are skipped
//! with a warning. `--follow` polls every 100 ms, follows rotation (also
//! several rotations between two polls, as long as the files still exist)
//! and drains what is left once the caller's `stop` says the container is
//! gone. [`format_record`] renders a record like `docker logs`, and
//! [`parse_time_arg`] parses `--since`/`--until` like the docker CLI.

mod cursor;
mod decode;
mod encode;
mod error;
mod follow;
mod local;
mod options;
mod reader;
mod timearg;
mod timefmt;
mod writer;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use error::LogError;
pub use options::{AttrSources, LogFormat, LogOptions};
pub use reader::{format_record, format_record_details, read_logs, read_logs_as, ReadOptions};
pub use timearg::{parse_time_arg, parse_time_flag};
pub use writer::LogWriter;

/// Which of the container's output streams a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// The name in the `stream` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The stream named `name` in a record, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Stream> {
        match name {
            "stdout" => Some(Stream::Stdout),
            "stderr" => Some(Stream::Stderr),
            _ => None,
        }
    }
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub stream: Stream,
    pub time: DateTime<Utc>,
    /// The line as logged, with its `\n` unless it was a partial line.
    pub line: Vec<u8>,
    /// json-file's `attrs` (`--log-opt labels=`/`env=`), for `--details`.
    pub attrs: std::collections::BTreeMap<String, String>,
}

//! Tests of the json-file log driver.

mod follow;
mod read;
mod rotate;
mod timearg;
mod write;

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use super::{read_logs, LogRecord, ReadOptions};

/// A time from RFC 3339.
pub(super) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A clock returning `times` in turn, then the last one forever.
pub(super) fn clock(times: &[&str]) -> impl FnMut() -> DateTime<Utc> + Send + 'static {
    let times: Vec<DateTime<Utc>> = times.iter().map(|s| t(s)).collect();
    let mut i = 0;
    move || {
        let v = times[i.min(times.len() - 1)];
        i += 1;
        v
    }
}

/// A clock starting at `start` and advancing one second per call.
pub(super) fn ticking(start: &str) -> impl FnMut() -> DateTime<Utc> + Send + 'static {
    let mut next = t(start);
    move || {
        let v = next;
        next += TimeDelta::seconds(1);
        v
    }
}

/// All records `read_logs` hands out (not following).
pub(super) fn read_all(path: &Path, opts: &ReadOptions) -> Vec<LogRecord> {
    let mut got = Vec::new();
    read_logs(
        path,
        opts,
        &mut |r| {
            got.push(r.clone());
            Ok(())
        },
        &|| true,
    )
    .unwrap();
    got
}

/// The lines of `records`, as strings.
pub(super) fn lines(records: &[LogRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.line.clone()).unwrap())
        .collect()
}

/// Compare long lists of lines, reporting only the first difference.
pub(super) fn assert_lines(got: &[LogRecord], expect: &[String]) {
    let got = lines(got);
    if let Some(i) = (0..got.len().max(expect.len())).find(|&i| got.get(i) != expect.get(i)) {
        panic!(
            "{} lines, expected {}; first difference at {i}: {:?} != {:?}",
            got.len(),
            expect.len(),
            got.get(i),
            expect.get(i)
        );
    }
}

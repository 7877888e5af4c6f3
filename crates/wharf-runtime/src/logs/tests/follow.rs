//! `--follow` against a writer in another thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use chrono::Utc;

use super::{assert_lines, lines};
use crate::logs::cursor::rotated_path;
use crate::logs::{read_logs, LogOptions, LogRecord, LogWriter, ReadOptions, Stream};

fn follow_opts() -> ReadOptions {
    ReadOptions {
        follow: true,
        ..ReadOptions::default()
    }
}

/// Follow `path` while `writer` runs in a thread; stop once it is done.
fn follow_while(
    path: &Path,
    opts: &ReadOptions,
    writer: impl FnOnce() + Send + 'static,
) -> Vec<LogRecord> {
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let handle = thread::spawn(move || {
        writer();
        flag.store(true, Ordering::SeqCst);
    });
    let mut got = Vec::new();
    read_logs(
        path,
        opts,
        &mut |r| {
            got.push(r.clone());
            Ok(())
        },
        &|| done.load(Ordering::SeqCst),
    )
    .unwrap();
    handle.join().unwrap();
    got
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}\n")).collect()
}

/// Write `line from` .. `line to-1` in bursts of `burst` with `pause`
/// between bursts.
fn write_lines(w: &mut LogWriter, range: std::ops::Range<usize>, burst: usize, pause: Duration) {
    for i in range {
        w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
            .unwrap();
        if i % burst == burst - 1 {
            thread::sleep(pause);
        }
    }
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("c-json.log")
}

#[test]
fn follow_sees_lines_appended_by_another_writer_across_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let opts = LogOptions {
        max_size: Some(2_000),
        max_file: 1_000,
        ..Default::default()
    };
    let mut w = LogWriter::open(&path, opts).unwrap();
    write_lines(&mut w, 0..10, 100, Duration::ZERO);
    let got = follow_while(&path, &follow_opts(), move || {
        write_lines(&mut w, 10..300, 20, Duration::from_millis(30));
        w.write(Stream::Stderr, b"no newline").unwrap();
        w.flush_partial().unwrap();
    });
    assert!(rotated_path(&path, 5).exists());
    let mut expect = numbered(0..300);
    expect.push("no newline".into());
    assert_lines(&got, &expect);
    assert_eq!(got.last().unwrap().stream, Stream::Stderr);
}

#[test]
fn follow_keeps_up_with_many_rotations_between_polls() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let opts = LogOptions {
        max_size: Some(300),
        max_file: 10_000,
        ..Default::default()
    };
    let writer_path = path.clone();
    let got = follow_while(&path, &follow_opts(), move || {
        let mut w = LogWriter::open(&writer_path, opts).unwrap();
        // Bursts of 50 records (about 12 rotations) faster than a poll.
        write_lines(&mut w, 0..1_000, 50, Duration::from_millis(15));
    });
    assert_lines(&got, &numbered(0..1_000));
}

#[test]
fn follow_with_tail_zero_only_shows_new_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut w = LogWriter::open(&path, LogOptions::default()).unwrap();
    write_lines(&mut w, 0..5, 100, Duration::ZERO);
    let opts = ReadOptions {
        tail: Some(2),
        ..follow_opts()
    };
    let got = follow_while(&path, &opts, move || {
        thread::sleep(Duration::from_millis(150));
        write_lines(&mut w, 5..8, 100, Duration::ZERO);
    });
    assert_eq!(lines(&got), numbered(3..8));
}

#[test]
fn follow_waits_for_the_log_to_appear() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let writer_path = path.clone();
    let got = follow_while(&path, &follow_opts(), move || {
        thread::sleep(Duration::from_millis(150));
        let mut w = LogWriter::open(&writer_path, LogOptions::default()).unwrap();
        write_lines(&mut w, 0..3, 100, Duration::ZERO);
    });
    assert_eq!(lines(&got), numbered(0..3));
}

#[test]
fn follow_after_exit_drains_and_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut w = LogWriter::open(&path, LogOptions::default()).unwrap();
    write_lines(&mut w, 0..3, 100, Duration::ZERO);
    w.write(Stream::Stdout, b"last").unwrap();
    w.flush_partial().unwrap();
    let mut got = Vec::new();
    read_logs(
        &path,
        &follow_opts(),
        &mut |r| {
            got.push(r.clone());
            Ok(())
        },
        &|| true,
    )
    .unwrap();
    let mut expect = numbered(0..3);
    expect.push("last".into());
    assert_lines(&got, &expect);
}

#[test]
fn follow_stops_once_until_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path());
    let mut w = LogWriter::open(&path, LogOptions::default()).unwrap();
    write_lines(&mut w, 0..2, 100, Duration::ZERO);
    let opts = ReadOptions {
        until: Some(Utc::now() + chrono::TimeDelta::milliseconds(200)),
        ..follow_opts()
    };
    let mut got = Vec::new();
    // Never told to stop: --until ends it.
    read_logs(
        &path,
        &opts,
        &mut |r| {
            got.push(r.clone());
            Ok(())
        },
        &|| false,
    )
    .unwrap();
    assert_eq!(lines(&got), numbered(0..2));
}

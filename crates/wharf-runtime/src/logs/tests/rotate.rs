//! Rotation with max-size/max-file, like docker's LogFile.

use std::path::Path;

use super::{clock, lines, read_all};
use crate::logs::cursor::rotated_path;
use crate::logs::{LogOptions, LogWriter, ReadOptions, Stream};

const TIME: &str = "2026-11-22T05:00:21Z";

fn record(n: usize) -> String {
    format!("{{\"log\":\"line {n}\\n\",\"stream\":\"stdout\",\"time\":\"{TIME}\"}}\n")
}

fn contents(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Seven records of 67 bytes, max-size 100: two records per file.
fn write_seven(path: &Path, max_file: u32, one_call: bool) {
    assert_eq!(record(0).len(), 67);
    let opts = LogOptions {
        max_size: Some(100),
        max_file,
        ..Default::default()
    };
    let mut w = LogWriter::with_clock(path, opts, clock(&[TIME])).unwrap();
    let all: String = (0..7).map(|n| format!("line {n}\n")).collect();
    if one_call {
        w.write(Stream::Stdout, all.as_bytes()).unwrap();
    } else {
        for n in 0..7 {
            w.write(Stream::Stdout, format!("line {n}\n").as_bytes())
                .unwrap();
        }
    }
}

#[test]
fn rotates_to_numbered_files_keeping_max_file() {
    for one_call in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        write_seven(&path, 3, one_call);
        assert_eq!(contents(&path).unwrap(), record(6));
        assert_eq!(
            contents(&rotated_path(&path, 1)).unwrap(),
            record(4) + &record(5)
        );
        assert_eq!(
            contents(&rotated_path(&path, 2)).unwrap(),
            record(2) + &record(3)
        );
        assert!(contents(&rotated_path(&path, 3)).is_none());
        let got = read_all(&path, &ReadOptions::default());
        assert_eq!(
            lines(&got),
            ["line 2\n", "line 3\n", "line 4\n", "line 5\n", "line 6\n"]
        );
    }
}

#[test]
fn max_file_one_truncates_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    write_seven(&path, 1, false);
    assert_eq!(contents(&path).unwrap(), record(6));
    assert!(contents(&rotated_path(&path, 1)).is_none());
}

#[test]
fn reopened_writer_counts_the_existing_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let opts = LogOptions {
        max_size: Some(100),
        max_file: 2,
        ..Default::default()
    };
    let mut w = LogWriter::with_clock(&path, opts.clone(), clock(&[TIME])).unwrap();
    w.write(Stream::Stdout, b"line 0\nline 1\n").unwrap();
    drop(w);
    let mut w = LogWriter::with_clock(&path, opts, clock(&[TIME])).unwrap();
    w.write(Stream::Stdout, b"line 2\n").unwrap();
    assert_eq!(contents(&path).unwrap(), record(2));
    assert_eq!(
        contents(&rotated_path(&path, 1)).unwrap(),
        record(0) + &record(1)
    );
}

#[test]
fn log_opts_like_docker() {
    let opts =
        LogOptions::from_log_opts([("max-size", "10m"), ("max-file", "3"), ("tag", "x")]).unwrap();
    assert_eq!(
        opts,
        LogOptions {
            max_size: Some(10_000_000),
            max_file: 3,
            ..Default::default()
        }
    );
    assert_eq!(
        LogOptions::from_log_opts([]).unwrap(),
        LogOptions::default()
    );
    let sizes = [
        ("1k", 1000),
        ("1.5KB", 1500),
        ("2 MiB", 2_000_000),
        ("1g", 1_000_000_000),
        ("512", 512),
        ("7b", 7),
    ];
    for (s, n) in sizes {
        assert_eq!(crate::logs::options::parse_human_size(s), Some(n), "{s}");
    }
    for s in ["", "k", "10x", "10kbb", "-1m"] {
        assert_eq!(crate::logs::options::parse_human_size(s), None, "{s}");
    }
    let err = |opts: &[(&str, &str)]| {
        LogOptions::from_log_opts(opts.iter().copied())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(&[("max-file", "0")]),
        "failed to initialize logging driver: max-file cannot be less than 1"
    );
    assert_eq!(
        err(&[("max-size", "0")]),
        "failed to initialize logging driver: max-size must be a positive number"
    );
    assert_eq!(
        err(&[("max-buffer", "1")]),
        "unknown log opt 'max-buffer' for json-file log driver"
    );
    let e = LogOptions::from_log_opts([("max-size", "lots")]).unwrap_err();
    assert_eq!(e.kind(), wharf_oci::ErrorKind::InvalidArgument);
}

/// docker's `local` format rotates into gzipped files and `logs` reads
/// them back, oldest first, with `--tail` over all of them.
#[test]
fn local_logs_rotate_compressed_and_read_back() {
    use crate::logs::{read_logs_as, LogFormat};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local-logs").join("container.log");
    let opts = LogOptions {
        max_size: Some(100),
        max_file: 3,
        format: LogFormat::Local,
        compress: true,
        ..Default::default()
    };
    let mut w = LogWriter::with_clock(&path, opts, clock(&[TIME])).unwrap();
    for n in 0..10 {
        w.write(Stream::Stdout, format!("line {n}\n").as_bytes())
            .unwrap();
    }
    drop(w);
    let gz = |n: u32| {
        let mut p = rotated_path(&path, n).into_os_string();
        p.push(".gz");
        std::path::PathBuf::from(p)
    };
    assert!(gz(1).exists() && gz(2).exists() && !gz(3).exists());
    assert!(
        !rotated_path(&path, 1).exists(),
        "compressed, not kept plain"
    );
    let read = |opts: &ReadOptions| {
        let mut got = Vec::new();
        read_logs_as(
            LogFormat::Local,
            &path,
            opts,
            &mut |r| {
                got.push(String::from_utf8(r.line.clone()).unwrap());
                Ok(())
            },
            &|| true,
        )
        .unwrap();
        got
    };
    let all = read(&ReadOptions::default());
    let first: usize = all[0]["line ".len()..].trim().parse().unwrap();
    let expected: Vec<String> = (first..10).map(|n| format!("line {n}\n")).collect();
    assert_eq!(all, expected, "in order, across the rotated files");
    let tail = read(&ReadOptions {
        tail: Some(2),
        ..Default::default()
    });
    assert_eq!(tail, ["line 8\n", "line 9\n"]);
}

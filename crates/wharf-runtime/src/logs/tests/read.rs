//! Reading: tail, filters, formatting, docker's own files.

use std::path::{Path, PathBuf};

use super::{clock, lines, read_all, t, ticking};
use crate::logs::cursor::rotated_path;
use crate::logs::{
    format_record, read_logs, LogError, LogOptions, LogRecord, LogWriter, ReadOptions, Stream,
};

const START: &str = "2026-11-22T05:00:00Z";

/// `line 0` .. `line n-1` on stdout, one second apart from START, with
/// two records per file (max-size 100) and all files kept.
fn rotated_log(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("c-json.log");
    let opts = LogOptions {
        max_size: Some(100),
        max_file: 100,
        ..Default::default()
    };
    let mut w = LogWriter::with_clock(&path, opts, ticking(START)).unwrap();
    for i in 0..n {
        w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
            .unwrap();
    }
    path
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}\n")).collect()
}

fn tail(n: usize) -> ReadOptions {
    ReadOptions {
        tail: Some(n),
        ..ReadOptions::default()
    }
}

#[test]
fn reads_everything_oldest_first_across_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path(), 10);
    assert!(rotated_path(&path, 4).exists());
    assert!(!rotated_path(&path, 5).exists());
    let got = read_all(&path, &ReadOptions::default());
    assert_eq!(lines(&got), numbered(0..10));
    assert!(got.iter().all(|r| r.stream == Stream::Stdout));
    assert_eq!(got[3].time, t("2026-11-22T05:00:03Z"));
}

#[test]
fn tail_across_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path(), 10);
    assert_eq!(lines(&read_all(&path, &tail(0))), Vec::<String>::new());
    assert_eq!(lines(&read_all(&path, &tail(1))), numbered(9..10));
    assert_eq!(lines(&read_all(&path, &tail(3))), numbered(7..10));
    assert_eq!(lines(&read_all(&path, &tail(5))), numbered(5..10));
    assert_eq!(lines(&read_all(&path, &tail(9))), numbered(1..10));
    assert_eq!(lines(&read_all(&path, &tail(100))), numbered(0..10));
}

#[test]
fn tail_of_a_large_file_crosses_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let mut w = LogWriter::with_clock(&path, LogOptions::default(), ticking(START)).unwrap();
    let all: String = numbered(0..20_000).concat();
    w.write(Stream::Stdout, all.as_bytes()).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 1_000_000);
    assert_eq!(lines(&read_all(&path, &tail(3))), numbered(19_997..20_000));
    assert_eq!(
        lines(&read_all(&path, &tail(15_000))),
        numbered(5_000..20_000)
    );
    assert_eq!(read_all(&path, &tail(20_001)).len(), 20_000);
}

#[test]
fn since_and_until_filter_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path(), 10);
    let opts = ReadOptions {
        since: Some(t("2026-11-22T05:00:03Z")),
        until: Some(t("2026-11-22T05:00:06Z")),
        ..ReadOptions::default()
    };
    assert_eq!(lines(&read_all(&path, &opts)), numbered(3..7));
    // Like docker, --tail counts records before --since filters them.
    let opts = ReadOptions {
        tail: Some(5),
        since: Some(t("2026-11-22T05:00:07Z")),
        ..ReadOptions::default()
    };
    assert_eq!(lines(&read_all(&path, &opts)), numbered(7..10));
}

#[test]
fn stream_selection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let mut w = LogWriter::with_clock(&path, LogOptions::default(), ticking(START)).unwrap();
    for i in 0..3 {
        w.write(Stream::Stdout, format!("out {i}\n").as_bytes())
            .unwrap();
        w.write(Stream::Stderr, format!("err {i}\n").as_bytes())
            .unwrap();
    }
    let only = |stdout, stderr| {
        lines(&read_all(
            &path,
            &ReadOptions {
                stdout,
                stderr,
                ..ReadOptions::default()
            },
        ))
    };
    assert_eq!(only(true, false), ["out 0\n", "out 1\n", "out 2\n"]);
    assert_eq!(only(false, true), ["err 0\n", "err 1\n", "err 2\n"]);
    assert_eq!(only(true, true).len(), 6);
    assert!(only(false, false).is_empty());
}

#[test]
fn format_record_like_docker_logs() {
    let rec = LogRecord {
        stream: Stream::Stdout,
        time: t("2026-11-22T05:00:21.1Z"),
        line: b"hello\n".to_vec(),
        attrs: Default::default(),
    };
    assert_eq!(format_record(&rec, false), b"hello\n");
    assert_eq!(
        format_record(&rec, true),
        b"2026-11-22T05:00:21.100000000Z hello\n"
    );
    let rec = LogRecord {
        time: t("2026-11-22T05:00:21Z"),
        line: b"partial".to_vec(),
        ..rec
    };
    assert_eq!(
        format_record(&rec, true),
        b"2026-11-22T05:00:21.000000000Z partial"
    );
}

#[test]
fn corrupt_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let content = concat!(
        r#"{"log":"one\n","stream":"stdout","time":"2026-11-22T05:00:21Z"}"#,
        "\ngarbage\n",
        r#"{"log":"cut off","str"#,
        "\n\n",
        r#"{"log":"odd\n","stream":"stdin","time":"2026-11-22T05:00:21Z"}"#,
        "\n",
        r#"{"log":"bad time\n","stream":"stdout","time":"yesterday"}"#,
        "\n",
        r#"{"log":"two\n","stream":"stderr","time":"2026-11-22T05:00:22Z"}"#,
    );
    std::fs::write(&path, content).unwrap();
    let got = read_all(&path, &ReadOptions::default());
    assert_eq!(lines(&got), ["one\n", "two\n"]);
    assert_eq!(got[1].stream, Stream::Stderr);
    // The unterminated last record is a line for --tail too.
    assert_eq!(lines(&read_all(&path, &tail(1))), ["two\n"]);
}

#[test]
fn missing_log_reads_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    assert!(read_all(&dir.path().join("nope-json.log"), &ReadOptions::default()).is_empty());
}

#[test]
fn sink_errors_end_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path(), 4);
    let mut seen = 0;
    let res = read_logs(
        &path,
        &ReadOptions::default(),
        &mut |_| {
            seen += 1;
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        },
        &|| true,
    );
    assert!(matches!(res, Err(LogError::Sink(_))), "{res:?}");
    assert_eq!(seen, 1);
}

/// What docker wrote for
/// `docker run --log-opt labels=com.example alpine sh -c 'echo hello;
/// echo "<b>&" >&2; printf "tab\tdone \377\n"; printf partial'`
/// (the last record with `attrs`, from a labelled container).
const DOCKER_LOG: &str = concat!(
    r#"{"log":"hello\n","stream":"stdout","time":"2024-03-05T09:41:07.503213245Z"}"#,
    "\n",
    r#"{"log":"\u003cb\u003e\u0026\n","stream":"stderr","time":"2024-03-05T09:41:07.50338914Z"}"#,
    "\n",
    r#"{"log":"tab\u0009done \ufffd\n","stream":"stdout","time":"2024-03-05T09:41:07.5034Z"}"#,
    "\n",
    r#"{"log":"partial","stream":"stdout","time":"2024-03-05T09:41:08Z"}"#,
    "\n",
    r#"{"log":"labelled\n","stream":"stdout","attrs":{"com.example":"x"},"time":"2024-03-05T09:41:09.1Z"}"#,
    "\n",
);

#[test]
fn reads_a_log_written_by_docker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    std::fs::write(&path, DOCKER_LOG).unwrap();
    let got = read_all(&path, &ReadOptions::default());
    let expect = [
        (Stream::Stdout, "2024-03-05T09:41:07.503213245Z", "hello\n"),
        (Stream::Stderr, "2024-03-05T09:41:07.50338914Z", "<b>&\n"),
        (
            Stream::Stdout,
            "2024-03-05T09:41:07.5034Z",
            "tab\tdone \u{fffd}\n",
        ),
        (Stream::Stdout, "2024-03-05T09:41:08Z", "partial"),
        (Stream::Stdout, "2024-03-05T09:41:09.1Z", "labelled\n"),
    ];
    assert_eq!(got.len(), expect.len());
    for (rec, (stream, time, line)) in got.iter().zip(expect) {
        assert_eq!(
            (rec.stream, rec.time, rec.line.as_slice()),
            (stream, t(time), line.as_bytes())
        );
    }
    let out: Vec<u8> = got.iter().flat_map(|r| format_record(r, true)).collect();
    assert!(out.starts_with(
        b"2024-03-05T09:41:07.503213245Z hello\n2024-03-05T09:41:07.503389140Z <b>&\n"
    ));
}

#[test]
fn writer_reproduces_dockers_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let times = [
        "2024-03-05T09:41:07.503213245Z",
        "2024-03-05T09:41:07.50338914Z",
        "2024-03-05T09:41:07.5034Z",
        "2024-03-05T09:41:08Z",
    ];
    let mut w = LogWriter::with_clock(&path, LogOptions::default(), clock(&times)).unwrap();
    w.write(Stream::Stdout, b"hello\n").unwrap();
    w.write(Stream::Stderr, b"<b>&\n").unwrap();
    w.write(Stream::Stdout, b"tab\tdone \xff\npartial").unwrap();
    w.flush_partial().unwrap();
    let docker: String = DOCKER_LOG
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), docker);
}

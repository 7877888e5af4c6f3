//! The writer produces docker's records byte for byte.

use std::os::unix::fs::PermissionsExt;

use super::{clock, t};
use crate::logs::encode::escape_into;
use crate::logs::timefmt::rfc3339_nano;
use crate::logs::{LogOptions, LogWriter, Stream};

fn written(f: impl FnOnce(&mut LogWriter), times: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let mut w = LogWriter::with_clock(&path, LogOptions::default(), clock(times)).unwrap();
    f(&mut w);
    std::fs::read_to_string(&path).unwrap()
}

fn escaped(s: &[u8]) -> String {
    let mut out = Vec::new();
    escape_into(&mut out, s);
    String::from_utf8(out).unwrap()
}

#[test]
fn lines_become_docker_records() {
    let got = written(
        |w| {
            w.write(Stream::Stdout, b"hello\nworld\n").unwrap();
            w.write(Stream::Stderr, b"oops\n").unwrap();
        },
        &[
            "2026-11-22T05:00:21.123456789Z",
            "2026-11-22T05:00:21.1Z",
            "2026-11-22T05:00:22Z",
        ],
    );
    assert_eq!(
        got,
        concat!(
            r#"{"log":"hello\n","stream":"stdout","time":"2026-11-22T05:00:21.123456789Z"}"#,
            "\n",
            r#"{"log":"world\n","stream":"stdout","time":"2026-11-22T05:00:21.1Z"}"#,
            "\n",
            r#"{"log":"oops\n","stream":"stderr","time":"2026-11-22T05:00:22Z"}"#,
            "\n",
        )
    );
}

#[test]
fn new_file_is_0640_and_reopen_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    let times = ["2026-11-22T05:00:21Z"];
    let mut w = LogWriter::with_clock(&path, LogOptions::default(), clock(&times)).unwrap();
    w.write(Stream::Stdout, b"one\n").unwrap();
    drop(w);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    // The umask may only take bits away.
    assert_eq!(mode & !0o640, 0, "mode {mode:o}");
    let mut w = LogWriter::with_clock(&path, LogOptions::default(), clock(&times)).unwrap();
    w.write(Stream::Stdout, b"two\n").unwrap();
    let got = std::fs::read_to_string(&path).unwrap();
    assert_eq!(got.lines().count(), 2);
    assert!(got.lines().nth(1).unwrap().starts_with(r#"{"log":"two\n""#));
}

#[test]
fn partial_lines_join_across_writes_per_stream() {
    let got = written(
        |w| {
            w.write(Stream::Stdout, b"hel").unwrap();
            w.write(Stream::Stderr, b"err-").unwrap();
            w.write(Stream::Stdout, b"lo\nwor").unwrap();
            w.write(Stream::Stderr, b"line\nleft").unwrap();
            w.flush_partial().unwrap();
            // Nothing is left to flush a second time.
            w.flush_partial().unwrap();
        },
        &[
            "2026-11-22T05:00:21Z",
            "2026-11-22T05:00:22Z",
            "2026-11-22T05:00:23Z",
            "2026-11-22T05:00:24Z",
        ],
    );
    assert_eq!(
        got,
        concat!(
            r#"{"log":"hello\n","stream":"stdout","time":"2026-11-22T05:00:21Z"}"#,
            "\n",
            r#"{"log":"err-line\n","stream":"stderr","time":"2026-11-22T05:00:22Z"}"#,
            "\n",
            r#"{"log":"wor","stream":"stdout","time":"2026-11-22T05:00:23Z"}"#,
            "\n",
            r#"{"log":"left","stream":"stderr","time":"2026-11-22T05:00:24Z"}"#,
            "\n",
        )
    );
}

#[test]
fn long_lines_split_at_16k_with_the_first_pieces_time() {
    let times = [
        "2026-11-22T05:00:21Z",
        "2026-11-22T05:00:22Z",
        "2026-11-22T05:00:23Z",
    ];
    let got = written(
        |w| {
            // 16 KiB + 10 in two writes: one 16 KiB piece, then the rest.
            w.write(Stream::Stdout, &[b'a'; 10_000]).unwrap();
            w.write(Stream::Stdout, &[b'a'; 6_394]).unwrap();
            w.write(Stream::Stdout, b"bbbbbbbbbb\n").unwrap();
            // Exactly 16 KiB with its newline: one record.
            let mut line = vec![b'c'; 16 * 1024 - 1];
            line.push(b'\n');
            w.write(Stream::Stdout, &line).unwrap();
            // 16 KiB before the newline: a piece, then "\n" alone.
            let mut line = vec![b'd'; 16 * 1024];
            line.push(b'\n');
            w.write(Stream::Stdout, &line).unwrap();
        },
        &times,
    );
    let records: Vec<&str> = got.lines().collect();
    let rec =
        |log: &str, time: &str| format!(r#"{{"log":"{log}","stream":"stdout","time":"{time}"}}"#);
    assert_eq!(records.len(), 5);
    assert_eq!(records[0], rec(&"a".repeat(16 * 1024), times[0]));
    assert_eq!(
        records[1],
        rec(
            &format!("{}{}\\n", "a".repeat(10), "b".repeat(10)),
            times[0]
        )
    );
    assert_eq!(
        records[2],
        rec(&format!("{}\\n", "c".repeat(16 * 1024 - 1)), times[1])
    );
    assert_eq!(records[3], rec(&"d".repeat(16 * 1024), times[2]));
    assert_eq!(records[4], rec("\\n", times[2]));
}

#[test]
fn escaping_matches_go() {
    assert_eq!(
        escaped(b"<a href=\"x\">&amp;</a>"),
        r#""\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e""#
    );
    // Only \n and \r get short escapes; \t and other controls are \u00XX,
    // DEL stays raw.
    assert_eq!(
        escaped(b"a\tb\\c\x01\x1b[0m\x7f\r\n"),
        "\"a\\u0009b\\\\c\\u0001\\u001b[0m\x7f\\r\\n\""
    );
    assert_eq!(escaped("café 🚀 ψ".as_bytes()), "\"café 🚀 ψ\"");
    assert_eq!(
        escaped("\u{2028} \u{2029}".as_bytes()),
        r#""\u2028 \u2029""#
    );
    // Each byte that does not start a valid sequence is one \ufffd (Go's
    // DecodeRune), unlike from_utf8_lossy's maximal subparts.
    assert_eq!(escaped(b"\xff"), r#""\ufffd""#);
    assert_eq!(escaped(b"\xe2\x82x"), r#""\ufffd\ufffdx""#);
    assert_eq!(escaped(b"\xed\xa0\x80"), r#""\ufffd\ufffd\ufffd""#);
    assert_eq!(escaped(b"\xc0\x80"), r#""\ufffd\ufffd""#);
    assert_eq!(
        escaped(b"\xf4\x90\x80\x80"),
        r#""\ufffd\ufffd\ufffd\ufffd""#
    );
    assert_eq!(escaped(b"ok\xf0\x9f\x9a"), r#""ok\ufffd\ufffd\ufffd""#);
}

#[test]
fn invalid_utf8_and_html_in_a_record() {
    let got = written(
        |w| {
            w.write(Stream::Stderr, b"<b>\xff & \xe2\x80\xa8</b>\n")
                .unwrap()
        },
        &["2026-11-22T05:00:21.000000001Z"],
    );
    assert_eq!(
        got,
        concat!(
            r#"{"log":"\u003cb\u003e\ufffd \u0026 \u2028\u003c/b\u003e\n","stream":"stderr","time":"2026-11-22T05:00:21.000000001Z"}"#,
            "\n"
        )
    );
}

#[test]
fn tty_lines_keep_their_carriage_returns() {
    let got = written(
        |w| {
            w.write(Stream::Stdout, b"/ # ls\r\nbin  etc\r\n/ # ")
                .unwrap();
            w.flush_partial().unwrap();
        },
        &["2026-11-22T05:00:21.5Z"],
    );
    assert_eq!(
        got,
        concat!(
            r#"{"log":"/ # ls\r\n","stream":"stdout","time":"2026-11-22T05:00:21.5Z"}"#,
            "\n",
            r#"{"log":"bin  etc\r\n","stream":"stdout","time":"2026-11-22T05:00:21.5Z"}"#,
            "\n",
            r#"{"log":"/ # ","stream":"stdout","time":"2026-11-22T05:00:21.5Z"}"#,
            "\n",
        )
    );
}

#[test]
fn time_field_trims_like_go() {
    assert_eq!(
        rfc3339_nano(t("2026-11-22T05:00:21Z")),
        "2026-11-22T05:00:21Z"
    );
    assert_eq!(
        rfc3339_nano(t("2026-11-22T05:00:21.120Z")),
        "2026-11-22T05:00:21.12Z"
    );
    assert_eq!(
        rfc3339_nano(t("2026-11-22T05:00:21.000000100Z")),
        "2026-11-22T05:00:21.0000001Z"
    );
    assert_eq!(
        rfc3339_nano(t("2026-11-22T07:00:21.5+02:00")),
        "2026-11-22T05:00:21.5Z"
    );
    assert_eq!(
        rfc3339_nano(t("0001-01-01T00:00:00Z")),
        "0001-01-01T00:00:00Z"
    );
}

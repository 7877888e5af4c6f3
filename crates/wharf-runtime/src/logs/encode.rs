//! Encoding records exactly like moby's `JSONLogs.MarshalJSONBuf`.

use chrono::{DateTime, Utc};

use super::timefmt::TimeFormatter;
use super::Stream;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// ASCII bytes written as they are: printable, minus `"`, `\`, `<`, `>`, `&`.
const SAFE: [bool; 128] = {
    let mut t = [false; 128];
    let mut b = 0x20;
    while b < 128 {
        t[b] = !matches!(b as u8, b'"' | b'\\' | b'<' | b'>' | b'&');
        b += 1;
    }
    t
};

/// Append one record and its `\n`: `{"log":...,"stream":...,"time":...}`,
/// with `attrs` (from [`attrs_fragment`]) before the time.
pub(crate) fn encode_record(
    out: &mut Vec<u8>,
    line: &[u8],
    stream: Stream,
    time: DateTime<Utc>,
    fmt: &mut TimeFormatter,
    attrs: &[u8],
) {
    out.extend_from_slice(b"{\"log\":");
    escape_into(out, line);
    out.extend_from_slice(b",\"stream\":\"");
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(b'"');
    out.extend_from_slice(attrs);
    out.extend_from_slice(b",\"time\":\"");
    fmt.write_nano(time, out);
    out.extend_from_slice(b"\"}\n");
}

/// `,"attrs":{"k":"v",...}` (keys sorted, as Go marshals a map), or
/// nothing without attributes.
pub(crate) fn attrs_fragment(attrs: &std::collections::BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    if attrs.is_empty() {
        return out;
    }
    out.extend_from_slice(b",\"attrs\":{");
    for (i, (k, v)) in attrs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        escape_into(&mut out, k.as_bytes());
        out.push(b':');
        escape_into(&mut out, v.as_bytes());
    }
    out.push(b'}');
    out
}

/// Append `s` as a JSON string the way moby's `ffjsonWriteJSONBytesAsString`
/// does: each byte that does not start a valid UTF-8 sequence becomes
/// `\ufffd`, `\n`/`\r` get short escapes, other control bytes and `<>&`
/// become `\u00XX`, U+2028/U+2029 become `\u2028`/`\u2029`.
pub(crate) fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            if SAFE[b as usize] {
                i += 1;
                continue;
            }
            out.extend_from_slice(&s[start..i]);
            match b {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xf) as usize],
                ]),
            }
            i += 1;
            start = i;
            continue;
        }
        let len = utf8_len(&s[i..]);
        if len == 0 {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice(b"\\ufffd");
            i += 1;
            start = i;
            continue;
        }
        // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
        if len == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9) {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice(b"\\u202");
            out.push(HEX[(s[i + 2] & 0xf) as usize]);
            i += 3;
            start = i;
            continue;
        }
        i += len;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// The length of the valid UTF-8 sequence starting `s` (non-ASCII first
/// byte), or 0 where Go's `utf8.DecodeRune` returns `(RuneError, 1)`.
fn utf8_len(s: &[u8]) -> usize {
    let cont = |i: usize, lo: u8, hi: u8| s.get(i).is_some_and(|b| (lo..=hi).contains(b));
    let tail = |from: usize, to: usize| (from..to).all(|i| cont(i, 0x80, 0xbf));
    match s[0] {
        0xc2..=0xdf if tail(1, 2) => 2,
        0xe0 if cont(1, 0xa0, 0xbf) && tail(2, 3) => 3,
        0xe1..=0xec | 0xee..=0xef if tail(1, 3) => 3,
        0xed if cont(1, 0x80, 0x9f) && tail(2, 3) => 3,
        0xf0 if cont(1, 0x90, 0xbf) && tail(2, 4) => 4,
        0xf1..=0xf3 if tail(1, 4) => 4,
        0xf4 if cont(1, 0x80, 0x8f) && tail(2, 4) => 4,
        _ => 0,
    }
}

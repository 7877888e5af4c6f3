//! Go's time formats for the log: `time.RFC3339Nano` (the `time` field,
//! trailing zeros trimmed) and moby's `RFC3339NanoFixed` (`logs -t`).

use chrono::{DateTime, Timelike, Utc};

/// Formats `time` fields, caching the `YYYY-MM-DDTHH:MM:SS` part of the
/// last second seen (the writer formats one per record).
#[derive(Default)]
pub(crate) struct TimeFormatter {
    cached: Option<(i64, [u8; 19])>,
}

impl TimeFormatter {
    /// Append `t` as Go's `RFC3339Nano` in UTC: `2026-11-22T05:00:21.1234Z`,
    /// no fraction at all when it is zero.
    pub(crate) fn write_nano(&mut self, t: DateTime<Utc>, out: &mut Vec<u8>) {
        let secs = t.timestamp();
        let prefix = match self.cached {
            Some((s, p)) if s == secs => p,
            _ => {
                let p = seconds_prefix(t);
                self.cached = Some((secs, p));
                p
            }
        };
        out.extend_from_slice(&prefix);
        let nanos = nanos(t);
        if nanos != 0 {
            out.push(b'.');
            push_padded(out, nanos, 9);
            while out.last() == Some(&b'0') {
                out.pop();
            }
        }
        out.push(b'Z');
    }
}

/// Go's `RFC3339Nano` of a UTC time, as a string.
#[cfg(test)]
pub(crate) fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let mut out = Vec::with_capacity(30);
    TimeFormatter::default().write_nano(t, &mut out);
    String::from_utf8(out).expect("ASCII")
}

/// moby's `jsonmessage.RFC3339NanoFixed`: always nine fraction digits.
pub(crate) fn rfc3339_nano_fixed(t: DateTime<Utc>, out: &mut Vec<u8>) {
    out.extend_from_slice(&seconds_prefix(t));
    out.push(b'.');
    push_padded(out, nanos(t), 9);
    out.push(b'Z');
}

fn seconds_prefix(t: DateTime<Utc>) -> [u8; 19] {
    let s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut p = [b'0'; 19];
    // Years past 9999 do not fit Go's format either; keep the last digits.
    let b = s.as_bytes();
    p.copy_from_slice(&b[b.len().saturating_sub(19)..]);
    p
}

/// Sub-second nanoseconds; a leap second's (>= 1e9) reads as the last
/// nanosecond of the second.
fn nanos(t: DateTime<Utc>) -> u32 {
    t.nanosecond().min(999_999_999)
}

fn push_padded(out: &mut Vec<u8>, mut v: u32, digits: usize) {
    let start = out.len();
    out.resize(start + digits, b'0');
    for i in (0..digits).rev() {
        out[start + i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

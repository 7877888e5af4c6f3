//! Sizes and durations the way docker's `go-units` prints and parses them.

use chrono::{DateTime, Duration, Utc};

use crate::gofmt::{format_float, quote};
use crate::FormatError;

const DECIMAL_ABBRS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_ABBRS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// go-units `getSizeAndUnit`.
fn size_and_unit(mut size: f64, base: f64, abbrs: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < abbrs.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, abbrs[i])
}

/// A size in decimal units with 3 significant digits, as in `docker images`
/// (go-units `HumanSizeWithPrecision(size, 3)`): `2028952` → `"2.03MB"`,
/// `999.6` kB → `"1e+03kB"`.
pub fn human_size(bytes: f64) -> String {
    human_size_with_precision(bytes, 3)
}

/// go-units `HumanSizeWithPrecision`: decimal units, `%.{precision}g`.
/// (`HumanSize`, used by e.g. `docker system df`, is precision 4.)
pub fn human_size_with_precision(bytes: f64, precision: usize) -> String {
    let (size, unit) = size_and_unit(bytes, 1000.0, &DECIMAL_ABBRS);
    format!("{}{unit}", format_float(size, 'g', precision as i32))
}

/// A size in binary units with 4 significant digits, as in `docker stats`
/// (go-units `BytesSize`): `1536` → `"1.5KiB"`.
pub fn bytes_size(bytes: f64) -> String {
    let (size, unit) = size_and_unit(bytes, 1024.0, &BINARY_ABBRS);
    format!("{}{unit}", format_float(size, 'g', 4))
}

/// A duration in words, as in `docker ps`'s "Up 2 hours" (go-units
/// `HumanDuration`).
pub fn human_duration(d: Duration) -> String {
    // Go's time.Duration is an int64 of nanoseconds.
    let nanos: i128 = i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos());
    let seconds = nanos / 1_000_000_000;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = nanos / 60_000_000_000;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let exact_hours = nanos as f64 / 3_600_000_000_000.0;
    let hours = exact_hours.round() as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", exact_hours as i64 / 24 / 365)
}

/// Docker's "CREATED" column: `human_duration(now - t) + " ago"`.
pub fn since(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", human_duration(now - t))
}

/// Parses a size with binary multiples (go-units `RAMInBytes`, used for
/// `--memory 64m`, `--shm-size`): `"64m"` → 67108864, `"1.5g"`, `"512k"`,
/// `"100"`, `"2GiB"`. Units `b k m g t p` are case-insensitive and may be
/// followed by `b` or `ib`; one space may separate number and unit.
pub fn parse_size(s: &str) -> Result<i64, FormatError> {
    parse_with(s, 1024)
}

/// Parses a size with decimal multiples (go-units `FromHumanSize`):
/// `"10MB"` → 10000000, `"1.5GB"` → 1500000000.
pub fn parse_human_size(s: &str) -> Result<i64, FormatError> {
    parse_with(s, 1000)
}

/// go-units (v0.5) `parseSize`.
fn parse_with(size: &str, base: i64) -> Result<i64, FormatError> {
    let invalid = |msg: String| FormatError::InvalidSize(msg);
    let Some(sep) = size.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        // There should be at least a digit.
        return Err(invalid(format!("invalid size: '{size}'")));
    };
    let (num, sfx) = if size.as_bytes()[sep] == b' ' {
        (&size[..sep], &size[sep + 1..])
    } else {
        (&size[..sep + 1], &size[sep + 1..])
    };
    let value = parse_go_float(num).ok_or_else(|| {
        invalid(format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            quote(num)
        ))
    })?;
    if value.is_infinite() {
        return Err(invalid(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(num)
        )));
    }
    // Backward compatibility: reject negative sizes.
    if value < 0.0 {
        return Err(invalid(format!("invalid size: '{size}'")));
    }
    // Go converts with `int64(f)`, which on amd64 turns anything past
    // 2^63 into -2^63 (docker then complains about the 6MB minimum; on
    // arm64 it saturates and the size is taken). Say what is wrong.
    let in_range = |bytes: f64| {
        if bytes < 9_223_372_036_854_775_808.0 {
            Ok(bytes as i64)
        } else {
            Err(invalid(format!(
                "invalid size: '{size}': value out of range"
            )))
        }
    };
    if sfx.is_empty() {
        return in_range(value);
    }
    let bad_suffix = |sfx: &str| invalid(format!("invalid suffix: '{sfx}'"));
    if sfx.len() > 3 {
        return Err(bad_suffix(sfx));
    }
    let sfx = sfx.to_lowercase();
    let bytes = sfx.as_bytes();
    if bytes[0] == b'b' {
        if bytes.len() > 1 {
            return Err(bad_suffix(&sfx));
        }
        return in_range(value);
    }
    let power = match bytes[0] {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        _ => return Err(bad_suffix(&sfx)),
    };
    // The suffix may have an extra "b" or "ib" (e.g. KiB or MB).
    match bytes.len() {
        2 if bytes[1] != b'b' => return Err(bad_suffix(&sfx)),
        3 if &sfx[1..] != "ib" => return Err(bad_suffix(&sfx)),
        _ => {}
    }
    in_range(value * base.pow(power) as f64)
}

/// Go's `strconv.ParseFloat` for the decimal syntax (the caller guarantees
/// the text ends in a digit or `.`).
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(human_size(2028952.0), "2.03MB");
        assert_eq!(human_size(1015700000.0), "1.02GB");
        assert_eq!(human_size(348800000.0), "349MB");
        assert_eq!(human_size(2000000.0), "2MB");
        assert_eq!(human_size(999600.0), "1e+03kB");
        assert_eq!(human_size(4278190.0), "4.28MB");
        assert_eq!(human_size(77800000.0), "77.8MB");
        assert_eq!(human_size(1e27), "1e+03YB");
        assert_eq!(human_size_with_precision(2028952.0, 4), "2.029MB");
    }

    #[test]
    fn binary_sizes() {
        assert_eq!(bytes_size(0.0), "0B");
        assert_eq!(bytes_size(1023.0), "1023B");
        assert_eq!(bytes_size(1024.0), "1KiB");
        assert_eq!(bytes_size(1536.0), "1.5KiB");
        assert_eq!(bytes_size(1024.0 * 1024.0 * 3.75), "3.75MiB");
        assert_eq!(bytes_size(1234567890.0), "1.15GiB");
        assert_eq!(
            bytes_size(10.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
            "10TiB"
        );
    }

    #[test]
    fn human_durations() {
        let s = Duration::seconds;
        assert_eq!(
            human_duration(Duration::milliseconds(999)),
            "Less than a second"
        );
        assert_eq!(human_duration(s(-5)), "Less than a second");
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(59)), "59 seconds");
        assert_eq!(human_duration(s(60)), "About a minute");
        assert_eq!(human_duration(s(119)), "About a minute");
        assert_eq!(human_duration(s(120)), "2 minutes");
        assert_eq!(human_duration(s(59 * 60 + 59)), "59 minutes");
        assert_eq!(human_duration(s(3600)), "About an hour");
        assert_eq!(human_duration(s(3600 + 29 * 60)), "About an hour");
        assert_eq!(human_duration(s(3600 + 30 * 60)), "2 hours");
        assert_eq!(human_duration(s(47 * 3600)), "47 hours");
        assert_eq!(human_duration(s(48 * 3600)), "2 days");
        assert_eq!(human_duration(s(13 * 86400)), "13 days");
        assert_eq!(human_duration(s(14 * 86400)), "2 weeks");
        assert_eq!(human_duration(s(59 * 86400)), "8 weeks");
        assert_eq!(human_duration(s(60 * 86400)), "2 months");
        assert_eq!(human_duration(s(729 * 86400)), "24 months");
        assert_eq!(human_duration(s(730 * 86400)), "2 years");
        assert_eq!(human_duration(s(3 * 365 * 86400 + 86400)), "3 years");
    }

    #[test]
    fn since_is_ago() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let t = now - Duration::minutes(2);
        assert_eq!(since(t, now), "2 minutes ago");
        assert_eq!(since(now, now), "Less than a second ago");
    }

    #[test]
    fn ram_in_bytes() {
        assert_eq!(parse_size("64m"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_size("64M"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_size("1.5g"), Ok(1610612736));
        assert_eq!(parse_size("512k"), Ok(524288));
        assert_eq!(parse_size("512kb"), Ok(524288));
        assert_eq!(parse_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("100b"), Ok(100));
        assert_eq!(parse_size("32 MB"), Ok(32 * 1024 * 1024));
        assert_eq!(parse_size("1t"), Ok(1 << 40));
        assert_eq!(parse_size("1p"), Ok(1 << 50));
        assert_eq!(parse_size("0.5"), Ok(0));
    }

    #[test]
    fn ram_in_bytes_errors() {
        let err = |s: &str| parse_size(s).unwrap_err().to_string();
        assert_eq!(err("12x"), "invalid suffix: 'x'");
        assert_eq!(err("12kx"), "invalid suffix: 'kx'");
        assert_eq!(err("12kbb"), "invalid suffix: 'kbb'");
        assert_eq!(err("12bb"), "invalid suffix: 'bb'");
        assert_eq!(err("x"), "invalid size: 'x'");
        assert_eq!(err(""), "invalid size: ''");
        assert_eq!(err("-1"), "invalid size: '-1'");
        assert_eq!(
            err("1..2m"),
            "strconv.ParseFloat: parsing \"1..2\": invalid syntax"
        );
        assert_eq!(
            err("m1"),
            "strconv.ParseFloat: parsing \"m1\": invalid syntax"
        );
        // Out of range: refused, never saturated to a limit nobody asked for.
        assert_eq!(
            err("99999999999999999999g"),
            "invalid size: '99999999999999999999g': value out of range"
        );
        assert_eq!(
            err("9223372036854775808"),
            "invalid size: '9223372036854775808': value out of range"
        );
        assert_eq!(err("8192p"), "invalid size: '8192p': value out of range");
        assert_eq!(
            err("1e999"),
            "strconv.ParseFloat: parsing \"1e999\": value out of range"
        );
        assert_eq!(parse_size("8191p"), Ok(8191 << 50));
    }

    #[test]
    fn from_human_size() {
        assert_eq!(parse_human_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_human_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_human_size("32"), Ok(32));
        assert_eq!(parse_human_size("1kib"), Ok(1000));
        assert_eq!(
            parse_human_size("10XB").unwrap_err().to_string(),
            "invalid suffix: 'xb'"
        );
    }
}

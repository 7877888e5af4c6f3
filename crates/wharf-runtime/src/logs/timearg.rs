//! `--since`/`--until` values, parsed like the docker CLI's
//! `timetypes.GetTimestamp`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc};

use super::LogError;

/// Parse a `--since` value like docker: a Go duration (`10m`, `1h30m`,
/// `42s`, meaning `now` minus that, truncated to the second as docker
/// does), an RFC 3339 time with or without fraction and zone
/// (`2013-01-02T13:23:37Z`, `2013-01-02T13:23:37.5+01:00`,
/// `2013-01-02T13:23:37`, `2013-01-02T13:23`, `2013-01-02T13`), a date
/// (`2013-01-02`, also with a zone), or Unix seconds (`1136073600`,
/// `1136073600.000000001`). Values without a zone are in the local zone.
/// Errors read `invalid value for "since": ...`; use [`parse_time_flag`]
/// for `--until`.
pub fn parse_time_arg(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, LogError> {
    parse_time_flag("since", s, now)
}

/// [`parse_time_arg`] for the flag named `flag` (`"since"`, `"until"`),
/// which the error message names.
pub fn parse_time_flag(
    flag: &'static str,
    s: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, LogError> {
    let local = chrono::Local
        .offset_from_utc_datetime(&now.naive_utc())
        .fix();
    parse_in(flag, s, now, local)
}

/// The parser, with the zone for values without one.
pub(crate) fn parse_in(
    flag: &'static str,
    s: &str,
    now: DateTime<Utc>,
    local: FixedOffset,
) -> Result<DateTime<Utc>, LogError> {
    let invalid = |reason: String| LogError::InvalidTime { flag, reason };
    if s != "0" {
        if let Some(nanos) = parse_go_duration(s) {
            let t = i64::try_from(nanos)
                .ok()
                .and_then(|n| now.checked_sub_signed(TimeDelta::nanoseconds(n)))
                .and_then(|t| DateTime::from_timestamp(t.timestamp(), 0))
                .ok_or_else(|| invalid(format!("duration out of range: {s:?}")))?;
            return Ok(t);
        }
    }
    match parse_datetime(s, local) {
        Ok(t) => Ok(t),
        // With a `-` it was meant as a date.
        Err(reason) if s.contains('-') => Err(invalid(format!("parsing time {s:?}: {reason}"))),
        Err(_) => parse_unix(s)
            .ok_or_else(|| invalid(format!("failed to parse value as time or duration: {s:?}"))),
    }
}

/// `YYYY-MM-DD[THH[:MM[:SS[.fraction]]]][Z|±HH:MM]`; no zone: `local`.
fn parse_datetime(s: &str, local: FixedOffset) -> Result<DateTime<Utc>, String> {
    let b = s.as_bytes();
    let num = |at: usize, len: usize| -> Result<u32, String> {
        let digits = b.get(at..at + len).ok_or("value too short")?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(format!("cannot parse {:?}", &s[at.min(s.len())..]));
        }
        Ok(digits.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    let year = num(0, 4)?;
    if !sep(4, b'-') || !sep(7, b'-') {
        return Err("expected YYYY-MM-DD".into());
    }
    let (month, day) = (num(5, 2)?, num(8, 2)?);
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or("date out of range")?;
    let mut at = 10;
    let (mut hour, mut min, mut sec, mut nano) = (0, 0, 0, 0);
    if sep(at, b'T') {
        hour = num(at + 1, 2)?;
        at += 3;
        if sep(at, b':') {
            min = num(at + 1, 2)?;
            at += 3;
            if sep(at, b':') {
                sec = num(at + 1, 2)?;
                at += 3;
                if sep(at, b'.') {
                    let digits = b[at + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    if digits == 0 || digits > 9 {
                        return Err("bad fractional seconds".into());
                    }
                    nano = num(at + 1, digits)? * 10u32.pow(9 - digits as u32);
                    at += 1 + digits;
                }
            }
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, min, sec, nano).ok_or("time out of range")?;
    let zone = match &s[at..] {
        "" => local,
        "Z" => FixedOffset::east_opt(0).expect("UTC"),
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 6 && sep(at + 3, b':') => {
            let secs = (num(at + 1, 2)? * 3600 + num(at + 4, 2)? * 60) as i32;
            let secs = if z.starts_with('-') { -secs } else { secs };
            FixedOffset::east_opt(secs).ok_or("zone offset out of range")?
        }
        rest => return Err(format!("extra text: {rest:?}")),
    };
    zone.from_local_datetime(&date.and_time(time))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| "time out of range".into())
}

/// `seconds[.fraction]` since the epoch (docker's `parseTimestamp`).
fn parse_unix(s: &str) -> Option<DateTime<Utc>> {
    let (secs, frac) = match s.split_once('.') {
        Some((secs, frac)) => (secs, Some(frac)),
        None => (s, None),
    };
    let secs: i64 = secs.parse().ok()?;
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) => {
            let digits = &f[..f.len().min(9)];
            digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
        }
        Some(_) => return None,
    };
    DateTime::from_timestamp(secs, nanos)
}

/// Go's `time.ParseDuration` in nanoseconds: `[-+]` then one or more
/// `<number>[.<fraction>]<unit>` with units ns, us (µs, μs), ms, s, m, h;
/// `0` alone needs no unit. `None` if it is not one or overflows.
fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let digits = |r: &str| r.bytes().take_while(u8::is_ascii_digit).count();
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = digits(rest);
        let (int, r) = rest.split_at(int_len);
        rest = r;
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let (f, r) = r.split_at(digits(r));
            frac = f;
            rest = r;
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        if int.len() > 30 {
            return None;
        }
        let mut nanos = if int.is_empty() {
            0
        } else {
            int.parse::<u128>().ok()?
        }
        .checked_mul(unit)?;
        if !frac.is_empty() {
            let f = &frac[..frac.len().min(18)];
            nanos += f.parse::<u128>().ok()? * unit / 10u128.pow(f.len() as u32);
        }
        total = total.checked_add(nanos)?;
        if total > 1 << 63 {
            return None;
        }
    }
    if total == 1 << 63 && !neg {
        return None;
    }
    let total = total as i128;
    Some(if neg { -total } else { total })
}

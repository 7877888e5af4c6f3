//! Durations as Compose reads them (Go's `time.ParseDuration` plus `d` and
//! `w` units) and prints them (Go's `time.Duration.String`).

const NS: u128 = 1;
const US: u128 = 1_000;
const MS: u128 = 1_000_000;
const S: u128 = 1_000_000_000;

/// Parses `1m30s`, `1.5h`, `2d`, `500ms` into nanoseconds.
pub fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {orig:?}");
    let mut s = orig;
    let neg = s.starts_with('-');
    s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let num = &s[..num_end];
        if num.is_empty() || num == "." {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        s = &s[num_end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {orig:?}"));
        }
        let mult = match unit {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => S,
            "m" => 60 * S,
            "h" => 3600 * S,
            "d" => 24 * 3600 * S,
            "w" => 7 * 24 * 3600 * S,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {orig:?}")),
        };
        total += value * mult as f64;
        s = &s[unit_end..];
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let n = total.round() as i64;
    Ok(if neg { -n } else { n })
}

/// Go's `time.Duration.String()`: `1m30s`, `1h0m0s`, `1.5s`, `500ms`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = u128::from(d.unsigned_abs());
    let mut out = String::new();
    if u < S {
        let (prec, unit) = if u < US {
            (0, "ns")
        } else if u < MS {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (int, frac) = frac(u, prec);
        out.push_str(&int.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (secs, frac_s) = frac(u, 9);
        let h = secs / 3600;
        let m = (secs / 60) % 60;
        let s = secs % 60;
        if h > 0 {
            out.push_str(&format!("{h}h{m}m"));
        } else if secs >= 60 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format!("{s}{frac_s}s"));
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Splits `v` into its integer part and `.digits` (trailing zeros cut) of
/// `prec` decimal places.
fn frac(v: u128, prec: u32) -> (u128, String) {
    let p = 10u128.pow(prec);
    let (int, rem) = (v / p, v % p);
    if rem == 0 {
        return (int, String::new());
    }
    let digits = format!("{rem:0width$}", width = prec as usize);
    (int, format!(".{}", digits.trim_end_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for (s, out) in [
            ("90s", "1m30s"),
            ("1h", "1h0m0s"),
            ("1500ms", "1.5s"),
            ("10s", "10s"),
            ("500ms", "500ms"),
            ("1d", "24h0m0s"),
            ("1m30.5s", "1m30.5s"),
            ("0", "0s"),
        ] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), out, "{s}");
        }
        assert_eq!(
            parse_duration("10").unwrap_err(),
            "time: missing unit in duration \"10\""
        );
    }
}

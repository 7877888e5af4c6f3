//! The writer's options: docker's json-file `--log-opt max-size/max-file`.

use super::LogError;

/// Rotation settings of a [`LogWriter`](super::LogWriter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// `max-size`: rotate once the current file has reached this many
    /// bytes (it may exceed it by one write). `None`: never rotate.
    pub max_size: Option<u64>,
    /// `max-file`: how many files to keep in all, counting the current one
    /// (docker's meaning): 3 keeps `<path>`, `<path>.1` and `<path>.2`.
    /// 0 and 1 both mean: truncate the file in place when it is full.
    pub max_file: u32,
}

impl Default for LogOptions {
    /// Docker's defaults: no size limit, one file.
    fn default() -> LogOptions {
        LogOptions {
            max_size: None,
            max_file: 1,
        }
    }
}

impl LogOptions {
    /// Options from docker's json-file `--log-opt key=value` pairs, with
    /// docker's validation. `labels`, `labels-regex`, `env`, `env-regex` and
    /// `tag` are accepted but have no effect (they only add `attrs`);
    /// `compress=true` is not supported.
    pub fn from_log_opts<'a>(
        opts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LogOptions, LogError> {
        let mut out = LogOptions::default();
        for (key, value) in opts {
            match key {
                "max-size" => {
                    let size = parse_human_size(value).ok_or_else(|| {
                        LogError::InvalidOption(format!("invalid size: '{value}'"))
                    })?;
                    if size == 0 {
                        return Err(LogError::InvalidOption(
                            "max-size must be a positive number".into(),
                        ));
                    }
                    out.max_size = Some(size);
                }
                "max-file" => {
                    let n: i64 = value.parse().map_err(|_| {
                        LogError::InvalidOption(format!("invalid max-file: \"{value}\""))
                    })?;
                    if n < 1 {
                        return Err(LogError::InvalidOption(
                            "max-file cannot be less than 1".into(),
                        ));
                    }
                    out.max_file = u32::try_from(n).map_err(|_| {
                        LogError::InvalidOption(format!("invalid max-file: \"{value}\""))
                    })?;
                }
                "compress" => match value {
                    "false" | "0" | "f" | "F" | "FALSE" | "False" => {}
                    _ => {
                        return Err(LogError::InvalidOption(
                            "compress is not supported by wharf's json-file log driver".into(),
                        ))
                    }
                },
                "labels" | "labels-regex" | "env" | "env-regex" | "tag" => {}
                _ => {
                    return Err(LogError::InvalidOption(format!(
                        "unknown log opt '{key}' for json-file log driver"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// go-units' `FromHumanSize`: decimal units, `10m` = `10MB` = `10MiB` =
/// 10,000,000 bytes, fractions allowed (`1.5k`).
pub(crate) fn parse_human_size(s: &str) -> Option<u64> {
    let num_len = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (num, mut suffix) = s.split_at(num_len);
    if num.is_empty() {
        return None;
    }
    suffix = suffix.strip_prefix(' ').unwrap_or(suffix);
    let size: f64 = num.parse().ok()?;
    let suffix = suffix.to_ascii_lowercase();
    let mul: f64 = match suffix.as_bytes() {
        [] | [b'b'] => 1.0,
        [unit] | [unit, b'b'] | [unit, b'i', b'b'] => match unit {
            b'k' => 1e3,
            b'm' => 1e6,
            b'g' => 1e9,
            b't' => 1e12,
            b'p' => 1e15,
            _ => return None,
        },
        _ => return None,
    };
    Some((size * mul) as u64)
}

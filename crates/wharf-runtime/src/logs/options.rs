//! The writer's options: docker's `--log-driver` (`json-file`, `local`,
//! `none`) and its `--log-opt`s, checked with docker's messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LogError;

/// The on-disk format of a container's log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogFormat {
    /// docker's `json-file`: one JSON object per line, `<id>-json.log`.
    #[default]
    JsonFile,
    /// docker's `local`: length-framed protobuf records,
    /// `local-logs/container.log`, rotated files gzipped.
    Local,
}

/// Rotation settings of a [`LogWriter`](super::LogWriter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    /// `max-size`: rotate once the current file has reached this many
    /// bytes (it may exceed it by one write). `None`: never rotate.
    pub max_size: Option<u64>,
    /// `max-file`: how many files to keep in all, counting the current one
    /// (docker's meaning): 3 keeps `<path>`, `<path>.1` and `<path>.2`.
    /// 0 and 1 both mean: truncate the file in place when it is full.
    pub max_file: u32,
    pub format: LogFormat,
    /// Rotated files are gzipped, as `<path>.N.gz` (`local`'s default).
    pub compress: bool,
    /// json-file's `labels`/`env` options, resolved against the
    /// container's labels and environment: every record's `attrs`.
    pub attrs: BTreeMap<String, String>,
}

impl Default for LogOptions {
    /// Docker's json-file defaults: no size limit, one file.
    fn default() -> LogOptions {
        LogOptions {
            max_size: None,
            max_file: 1,
            format: LogFormat::JsonFile,
            compress: false,
            attrs: BTreeMap::new(),
        }
    }
}

/// The log drivers docker has that wharf does not.
const OTHER_DRIVERS: [&str; 9] = [
    "awslogs",
    "etwlogs",
    "fluentd",
    "gcplogs",
    "gelf",
    "journald",
    "logentries",
    "splunk",
    "syslog",
];

/// docker's `local` defaults: 20 MiB files, 5 of them, compressed.
const LOCAL_MAX_SIZE: u64 = 20 * 1024 * 1024;
const LOCAL_MAX_FILE: u32 = 5;

/// What a container's labels and environment give json-file's `attrs`.
pub struct AttrSources<'a> {
    pub labels: &'a BTreeMap<String, String>,
    /// `KEY=value` entries.
    pub env: &'a [String],
}

impl LogOptions {
    /// The options of log driver `driver` with `opts` (docker's
    /// `--log-opt`s); `Ok(None)` for `none` (nothing is logged).
    pub fn for_driver(
        driver: &str,
        opts: &BTreeMap<String, String>,
        sources: &AttrSources,
    ) -> Result<Option<LogOptions>, LogError> {
        let pairs = opts.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        match driver {
            "" | "json-file" => {
                let mut out = LogOptions::from_log_opts(pairs)?;
                out.attrs = attrs(opts, sources);
                Ok(Some(out))
            }
            "local" => LogOptions::local(pairs).map(Some),
            "none" if opts.is_empty() => Ok(None),
            "none" => Err(LogError::InvalidOption(
                "invalid logging opts for driver none".into(),
            )),
            d if OTHER_DRIVERS.contains(&d) => Err(LogError::InvalidOption(format!(
                "logging driver {d:?} is not supported by wharf (json-file, local and none are)"
            ))),
            d => Err(LogError::InvalidOption(format!(
                "error looking up logging plugin {d}: plugin \"{d}\" not found"
            ))),
        }
    }

    /// Options from docker's json-file `--log-opt key=value` pairs, with
    /// docker's validation. `tag`, `labels-regex` and `env-regex` are
    /// accepted but have no effect (`labels` and `env` give `attrs`, see
    /// [`LogOptions::for_driver`]); `compress=true` is not supported.
    pub fn from_log_opts<'a>(
        opts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LogOptions, LogError> {
        let opts: Vec<_> = opts.into_iter().collect();
        // Unknown keys first, as docker's ValidateLogOpt runs before the
        // driver reads the values.
        for (key, _) in &opts {
            if !matches!(
                *key,
                "max-size"
                    | "max-file"
                    | "compress"
                    | "labels"
                    | "labels-regex"
                    | "env"
                    | "env-regex"
                    | "tag"
            ) {
                return Err(LogError::InvalidOption(format!(
                    "unknown log opt '{key}' for json-file log driver"
                )));
            }
        }
        let mut out = LogOptions::default();
        for (key, value) in opts {
            match key {
                "max-size" => {
                    let size = parse_human_size(value)
                        .ok_or_else(|| init(format!("invalid size: '{value}'")))?;
                    if size == 0 {
                        return Err(init("max-size must be a positive number".into()));
                    }
                    out.max_size = Some(size);
                }
                "max-file" => {
                    let n: i64 = value
                        .parse()
                        .map_err(|_| init(format!("invalid max-file: \"{value}\"")))?;
                    if n < 1 {
                        return Err(init("max-file cannot be less than 1".into()));
                    }
                    out.max_file = u32::try_from(n)
                        .map_err(|_| init(format!("invalid max-file: \"{value}\"")))?;
                }
                "compress" => match parse_bool(value) {
                    Some(false) => {}
                    _ => {
                        return Err(LogError::InvalidOption(
                            "compress is not supported by wharf's json-file log driver".into(),
                        ))
                    }
                },
                _ => {}
            }
        }
        Ok(out)
    }

    /// docker's `local` driver options: `max-size` (20 MiB), `max-file`
    /// (5), `compress` (true).
    fn local<'a>(
        opts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LogOptions, LogError> {
        let mut out = LogOptions {
            max_size: Some(LOCAL_MAX_SIZE),
            max_file: LOCAL_MAX_FILE,
            format: LogFormat::Local,
            compress: true,
            attrs: BTreeMap::new(),
        };
        let opts: Vec<_> = opts.into_iter().collect();
        for (key, _) in &opts {
            if !matches!(*key, "max-size" | "max-file" | "compress") {
                return Err(LogError::InvalidOption(format!(
                    "unknown log opt '{key}' for log driver local"
                )));
            }
        }
        for (key, value) in opts {
            match key {
                "max-size" => {
                    let size = parse_human_size(value)
                        .ok_or_else(|| init(format!("invalid size: '{value}'")))?;
                    out.max_size = (size > 0).then_some(size);
                }
                "max-file" => {
                    let n: i64 = value.parse().map_err(|_| {
                        init(format!("strconv.Atoi: parsing {value:?}: invalid syntax"))
                    })?;
                    if n < 0 {
                        return Err(init("max file count cannot be less than 0".into()));
                    }
                    out.max_file = u32::try_from(n).unwrap_or(u32::MAX);
                }
                "compress" => {
                    out.compress = parse_bool(value).ok_or_else(|| {
                        init(format!(
                            "strconv.ParseBool: parsing {value:?}: invalid syntax"
                        ))
                    })?;
                }
                _ => {}
            }
        }
        if out.compress && out.max_file <= 1 {
            return Err(init(
                "compression cannot be enabled when max file count is 1".into(),
            ));
        }
        Ok(out)
    }
}

/// docker's words for a driver that refused its options.
fn init(why: String) -> LogError {
    LogError::InvalidOption(format!("failed to initialize logging driver: {why}"))
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// json-file's `attrs` (docker's `Info.ExtraAttributes`): the labels named
/// by `labels=a,b` and the variables named by `env=X,Y` the container has.
fn attrs(opts: &BTreeMap<String, String>, sources: &AttrSources) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let names = |key: &str| -> Vec<String> {
        opts.get(key)
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    };
    for l in names("labels") {
        if let Some(v) = sources.labels.get(&l) {
            out.insert(l, v.clone());
        }
    }
    for e in names("env") {
        if let Some(v) = sources
            .env
            .iter()
            .find_map(|kv| kv.strip_prefix(&format!("{e}=")))
        {
            out.insert(e, v.to_string());
        }
    }
    out
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

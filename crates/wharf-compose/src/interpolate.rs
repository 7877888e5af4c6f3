//! Interpolation of a whole compose document: every string value goes
//! through [`crate::template::substitute`], then the values Compose types
//! (`scale`, `privileged`, `ports[].target`...) are cast from their text.

use serde_json::{Number, Value};

use crate::error::{invalid, ComposeError, Result};
use crate::path::{matches, Path};
use crate::template::{substitute, Mapping, TemplateError};

#[derive(Clone, Copy)]
enum Cast {
    Int,
    Int64,
    Float,
    Float32,
    Bool,
}

/// compose-go's `interpolateTypeCastMapping`.
const CASTS: &[(&str, Cast)] = &[
    ("services.*.cpu_count", Cast::Int64),
    ("services.*.cpu_percent", Cast::Float),
    ("services.*.cpu_period", Cast::Int64),
    ("services.*.cpu_quota", Cast::Int64),
    ("services.*.cpu_rt_period", Cast::Int64),
    ("services.*.cpu_rt_runtime", Cast::Int64),
    ("services.*.cpus", Cast::Float32),
    ("services.*.cpu_shares", Cast::Int64),
    ("services.*.init", Cast::Bool),
    ("services.*.deploy.replicas", Cast::Int),
    ("services.*.deploy.update_config.parallelism", Cast::Int),
    (
        "services.*.deploy.update_config.max_failure_ratio",
        Cast::Float,
    ),
    ("services.*.deploy.rollback_config.parallelism", Cast::Int),
    (
        "services.*.deploy.rollback_config.max_failure_ratio",
        Cast::Float,
    ),
    ("services.*.deploy.restart_policy.max_attempts", Cast::Int),
    (
        "services.*.deploy.placement.max_replicas_per_node",
        Cast::Int,
    ),
    ("services.*.healthcheck.retries", Cast::Int),
    ("services.*.healthcheck.disable", Cast::Bool),
    ("services.*.oom_kill_disable", Cast::Bool),
    ("services.*.oom_score_adj", Cast::Int64),
    ("services.*.pids_limit", Cast::Int64),
    ("services.*.ports.[].target", Cast::Int),
    ("services.*.privileged", Cast::Bool),
    ("services.*.read_only", Cast::Bool),
    ("services.*.scale", Cast::Int),
    ("services.*.stdin_open", Cast::Bool),
    ("services.*.tty", Cast::Bool),
    ("services.*.ulimits.*", Cast::Int),
    ("services.*.ulimits.*.hard", Cast::Int),
    ("services.*.ulimits.*.soft", Cast::Int),
    ("services.*.volumes.[].read_only", Cast::Bool),
    ("services.*.volumes.[].volume.nocopy", Cast::Bool),
    ("networks.*.external", Cast::Bool),
    ("networks.*.internal", Cast::Bool),
    ("networks.*.attachable", Cast::Bool),
    ("networks.*.enable_ipv4", Cast::Bool),
    ("networks.*.enable_ipv6", Cast::Bool),
    ("volumes.*.external", Cast::Bool),
    ("secrets.*.external", Cast::Bool),
    ("configs.*.external", Cast::Bool),
];

/// Interpolates every string of `value` (a document's top-level mapping).
pub fn interpolate(
    value: &mut Value,
    mapping: &dyn Mapping,
    warn: &mut dyn FnMut(String),
) -> Result<()> {
    let mut path = Path::new();
    walk(value, &mut path, mapping, warn)
}

fn walk(
    value: &mut Value,
    path: &mut Path,
    mapping: &dyn Mapping,
    warn: &mut dyn FnMut(String),
) -> Result<()> {
    match value {
        Value::String(s) => {
            let new = substitute(s, mapping).map_err(|e| path_error(path, e))?;
            if let Some((_, cast)) = CASTS.iter().find(|(p, _)| matches(path, p)) {
                *value = apply_cast(*cast, &new, warn).map_err(|e| {
                    invalid(format!(
                        "error while interpolating {}: failed to cast to expected type: {e}",
                        path.dotted()
                    ))
                })?;
            } else {
                *s = new;
            }
        }
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                path.push(k);
                let r = walk(v, path, mapping, warn);
                path.pop();
                r?;
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                path.push("[]");
                let r = walk(v, path, mapping, warn);
                path.pop();
                r?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn path_error(path: &Path, e: TemplateError) -> ComposeError {
    match e {
        TemplateError::Invalid { template } => invalid(format!(
            "invalid interpolation format for {}.\nYou may need to escape any $ with another $.\n{template}",
            path.dotted()
        )),
        other => invalid(format!(
            "error while interpolating {}: {other}",
            path.dotted()
        )),
    }
}

fn apply_cast(cast: Cast, s: &str, warn: &mut dyn FnMut(String)) -> Result<Value, String> {
    match cast {
        Cast::Int | Cast::Int64 => {
            let func = if matches!(cast, Cast::Int) {
                "Atoi"
            } else {
                "ParseInt"
            };
            go_atoi(s)
                .map(|i| Value::Number(Number::from(i)))
                .ok_or_else(|| format!("strconv.{func}: parsing {s:?}: invalid syntax"))
        }
        Cast::Float | Cast::Float32 => {
            let f = go_parse_float(s)
                .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))?;
            let f = if matches!(cast, Cast::Float32) {
                f as f32 as f64
            } else {
                f
            };
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
        }
        Cast::Bool => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "y" | "yes" | "on" => {
                warn(format!(
                    "{s:?} for boolean is not supported by YAML 1.2, please use `true`"
                ));
                Ok(Value::Bool(true))
            }
            "n" | "no" | "off" => {
                warn(format!(
                    "{s:?} for boolean is not supported by YAML 1.2, please use `false`"
                ));
                Ok(Value::Bool(false))
            }
            _ => Err(format!("invalid boolean: {s}")),
        },
    }
}

/// Go's `strconv.Atoi`: optional sign, decimal digits only.
pub(crate) fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Go's `strconv.ParseFloat` for the forms a compose file uses.
pub(crate) fn go_parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body == "inf" || body == "infinity" || body == "nan" || s.is_empty() {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

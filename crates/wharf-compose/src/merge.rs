//! Merging compose documents (several `-f`, overrides, `extends`) with the
//! compose specification's rules, and the de-duplication Compose applies
//! afterwards (a later `PORT=2` replaces an earlier `PORT=1`, a later
//! mount on the same target replaces the earlier one...).

use serde_json::{json, Map, Value};

use crate::error::{invalid, Result};
use crate::path::{matches, Path};
use crate::volume_spec::parse_volume;

#[derive(Clone, Copy)]
enum Rule {
    ToSequence,
    Override,
    Build,
    DependsOn,
    ToMapping,
    ExtraHosts,
    Logging,
    Ulimit,
    IpamConfig,
}

/// compose-go's `mergeSpecials`.
const RULES: &[(&str, Rule)] = &[
    ("networks.*.ipam.config", Rule::IpamConfig),
    ("networks.*.labels", Rule::ToSequence),
    ("volumes.*.labels", Rule::ToSequence),
    ("services.*.annotations", Rule::ToSequence),
    ("services.*.build", Rule::Build),
    ("services.*.build.args", Rule::ToSequence),
    ("services.*.build.additional_contexts", Rule::ToSequence),
    ("services.*.build.extra_hosts", Rule::ExtraHosts),
    ("services.*.build.labels", Rule::ToSequence),
    ("services.*.command", Rule::Override),
    ("services.*.depends_on", Rule::DependsOn),
    ("services.*.deploy.labels", Rule::ToSequence),
    ("services.*.dns", Rule::ToSequence),
    ("services.*.dns_opt", Rule::ToSequence),
    ("services.*.dns_search", Rule::ToSequence),
    ("services.*.entrypoint", Rule::Override),
    ("services.*.env_file", Rule::ToSequence),
    ("services.*.label_file", Rule::ToSequence),
    ("services.*.environment", Rule::ToSequence),
    ("services.*.extra_hosts", Rule::ExtraHosts),
    ("services.*.healthcheck.test", Rule::Override),
    ("services.*.labels", Rule::ToSequence),
    ("services.*.volumes.*.volume.labels", Rule::ToSequence),
    ("services.*.logging", Rule::Logging),
    ("services.*.models", Rule::ToMapping),
    ("services.*.networks", Rule::ToMapping),
    ("services.*.sysctls", Rule::ToSequence),
    ("services.*.tmpfs", Rule::ToSequence),
    ("services.*.ulimits.*", Rule::Ulimit),
];

/// Merges `over` into `base` (both top-level documents).
pub fn merge(base: Value, over: Value) -> Result<Value> {
    let mut p = Path::new();
    merge_at(base, over, &mut p)
}

/// `extends`: the service `over` on top of its base service.
pub fn extend_service(base: Value, over: Value) -> Result<Value> {
    let mut p = Path::from_dotted("services.x");
    merge_at(base, over, &mut p)
}

fn merge_at(base: Value, over: Value, p: &mut Path) -> Result<Value> {
    if let Some((_, rule)) = RULES.iter().find(|(pat, _)| matches(p, pat)) {
        return special(*rule, base, over, p);
    }
    if over.is_null() {
        return Ok(base);
    }
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => merge_mappings(b, o, p),
        (Value::Object(_), _) => Err(invalid(format!("cannot override {}", p.dotted()))),
        (Value::Array(mut b), Value::Array(o)) => {
            b.extend(o);
            Ok(Value::Array(b))
        }
        (Value::Array(_), _) => Err(invalid(format!("cannot override {}", p.dotted()))),
        (_, o) => Ok(o),
    }
}

fn merge_mappings(
    mut base: Map<String, Value>,
    over: Map<String, Value>,
    p: &mut Path,
) -> Result<Value> {
    for (k, v) in over {
        match base.shift_remove(&k) {
            None => {
                base.insert(k, v);
            }
            Some(e) => {
                p.push(&k);
                let merged = merge_at(e, v, p);
                p.pop();
                base.insert(k, merged?);
            }
        }
    }
    Ok(Value::Object(base))
}

fn special(rule: Rule, base: Value, over: Value, p: &mut Path) -> Result<Value> {
    match rule {
        Rule::Override => Ok(over),
        Rule::ToSequence => {
            let mut seq = into_sequence(base);
            seq.extend(into_sequence(over));
            Ok(Value::Array(seq))
        }
        Rule::ExtraHosts => {
            let mut right = into_sequence(base);
            let left: Vec<Value> = into_sequence(over)
                .into_iter()
                .filter(|v| !right.contains(v))
                .collect();
            right.extend(left);
            Ok(Value::Array(right))
        }
        Rule::Build => {
            let to_build = |v: Value| match v {
                Value::String(s) => json!({ "context": s }),
                other => other,
            };
            match (to_build(base), to_build(over)) {
                (Value::Object(b), Value::Object(o)) => merge_mappings(b, o, p),
                (b, _) => Ok(b),
            }
        }
        Rule::DependsOn => {
            let d = json!({"condition": "service_started", "required": true});
            let b = into_mapping(base, Some(&d));
            let o = into_mapping(over, Some(&d));
            merge_mappings(b, o, p)
        }
        Rule::ToMapping => {
            let b = into_mapping(base, None);
            let o = into_mapping(over, None);
            merge_mappings(b, o, p)
        }
        Rule::Logging => match (base, over) {
            (Value::Object(b), Value::Object(o)) => {
                let same = match (o.get("driver"), b.get("driver")) {
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                };
                if same {
                    merge_mappings(b, o, p)
                } else {
                    Ok(Value::Object(o))
                }
            }
            (_, o) => Ok(o),
        },
        // compose-go merges the override with itself: the override wins.
        Rule::Ulimit => Ok(over),
        Rule::IpamConfig => merge_ipam(base, over, p),
    }
}

fn merge_ipam(base: Value, over: Value, p: &mut Path) -> Result<Value> {
    let (Value::Array(configs), Value::Array(overrides)) = (base, over) else {
        return Err(invalid(format!("{}: unexpected type", p.dotted())));
    };
    let mut out: Vec<Value> = Vec::new();
    let subnet = |v: &Value| v.get("subnet").cloned();
    for original in configs {
        let right = into_mapping(original, None);
        for o in &overrides {
            let left = into_mapping(o.clone(), None);
            if left.get("subnet") != right.get("subnet") {
                let ls = left.get("subnet").cloned();
                if !out.iter().any(|a| subnet(a) == ls) {
                    out.push(Value::Object(left));
                    continue;
                }
            }
            let merged = merge_mappings(right.clone(), left, p)?;
            let ms = subnet(&merged);
            match out.iter().position(|a| subnet(a) == ms) {
                Some(i) => out[i] = merged,
                None => out.push(merged),
            }
        }
    }
    Ok(Value::Array(out))
}

/// Go's `fmt.Sprintf("%v")` of a scalar, for `KEY=value` entries.
pub fn go_sprint(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => crate::output::go_number(n),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_sprint).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => {
            let mut parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_sprint(v)))
                .collect();
            parts.sort();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn into_sequence(v: Value) -> Vec<Value> {
    match v {
        Value::Object(m) => {
            let mut seq: Vec<String> = Vec::new();
            for (k, val) in m {
                match val {
                    Value::Null => seq.push(k),
                    Value::Array(items) => {
                        for i in items {
                            seq.push(format!("{k}={}", go_sprint(&i)));
                        }
                    }
                    other => seq.push(format!("{k}={}", go_sprint(&other))),
                }
            }
            seq.sort();
            seq.into_iter().map(Value::String).collect()
        }
        Value::Array(items) => items,
        Value::String(s) => vec![Value::String(s)],
        _ => Vec::new(),
    }
}

fn into_mapping(v: Value, default: Option<&Value>) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        Value::Array(items) => items
            .into_iter()
            .map(|s| {
                let key = match s {
                    Value::String(s) => s,
                    other => go_sprint(&other),
                };
                (key, default.cloned().unwrap_or(Value::Null))
            })
            .collect(),
        _ => Map::new(),
    }
}

#[derive(Clone, Copy)]
enum Index {
    KeyValue,
    Volume,
    Device,
    Expose,
    Mount(&'static str),
    Port,
    EnvFile,
}

/// compose-go's `unique`: lists where a later entry replaces an earlier one
/// with the same key.
const UNIQUE: &[(&str, Index)] = &[
    ("networks.*.labels", Index::KeyValue),
    ("networks.*.ipam.options", Index::KeyValue),
    ("services.*.annotations", Index::KeyValue),
    ("services.*.build.args", Index::KeyValue),
    ("services.*.build.additional_contexts", Index::KeyValue),
    ("services.*.build.platform", Index::KeyValue),
    ("services.*.build.tags", Index::KeyValue),
    ("services.*.build.labels", Index::KeyValue),
    ("services.*.cap_add", Index::KeyValue),
    ("services.*.cap_drop", Index::KeyValue),
    ("services.*.configs", Index::Mount("")),
    ("services.*.deploy.labels", Index::KeyValue),
    ("services.*.dns", Index::KeyValue),
    ("services.*.dns_opt", Index::KeyValue),
    ("services.*.dns_search", Index::KeyValue),
    ("services.*.environment", Index::KeyValue),
    ("services.*.env_file", Index::EnvFile),
    ("services.*.expose", Index::Expose),
    ("services.*.labels", Index::KeyValue),
    ("services.*.links", Index::KeyValue),
    ("services.*.networks.*.aliases", Index::KeyValue),
    ("services.*.networks.*.link_local_ips", Index::KeyValue),
    ("services.*.ports", Index::Port),
    ("services.*.profiles", Index::KeyValue),
    ("services.*.secrets", Index::Mount("/run/secrets")),
    ("services.*.sysctls", Index::KeyValue),
    ("services.*.tmpfs", Index::KeyValue),
    ("services.*.volumes", Index::Volume),
    ("services.*.devices", Index::Device),
];

/// Removes duplicates from the lists above (the later entry wins, at the
/// place of the first).
pub fn enforce_unicity(v: &mut Value) -> Result<()> {
    let mut p = Path::new();
    unicity(v, &mut p)
}

fn unicity(v: &mut Value, p: &mut Path) -> Result<()> {
    match v {
        Value::Object(m) => {
            for (k, e) in m.iter_mut() {
                p.push(k);
                let r = unicity(e, p);
                p.pop();
                r?;
            }
        }
        Value::Array(items) => {
            if let Some((_, idx)) = UNIQUE.iter().find(|(pat, _)| matches(p, pat)) {
                let mut seq: Vec<Value> = Vec::with_capacity(items.len());
                let mut keys: Vec<(String, usize)> = Vec::new();
                for (i, e) in std::mem::take(items).into_iter().enumerate() {
                    let key = index_key(*idx, &e, p, i)?;
                    match keys.iter().find(|(k, _)| *k == key) {
                        Some((_, j)) => seq[*j] = e,
                        None => {
                            keys.push((key, seq.len()));
                            seq.push(e);
                        }
                    }
                }
                *items = seq;
            }
        }
        _ => {}
    }
    Ok(())
}

fn index_key(idx: Index, e: &Value, p: &Path, i: usize) -> Result<String> {
    let at = || format!("{}.[{i}]", p.dotted());
    Ok(match idx {
        Index::KeyValue => match e {
            Value::String(s) => s.split_once('=').map_or(s.as_str(), |(k, _)| k).to_string(),
            other => {
                return Err(invalid(format!(
                    "{}: unexpected type {}",
                    at(),
                    crate::schema::go_type_name(other)
                )))
            }
        },
        Index::Volume => match e {
            Value::Object(m) => match m.get("target") {
                Some(Value::String(t)) => t.clone(),
                _ => {
                    return Err(invalid(format!(
                        "service volume {} is missing a mount target",
                        at()
                    )))
                }
            },
            Value::String(s) => parse_volume(s)?.target,
            _ => String::new(),
        },
        Index::Device => match e {
            Value::Object(m) => match m.get("target") {
                Some(Value::String(t)) => t.clone(),
                _ => {
                    return Err(invalid(format!(
                        "service device {} is missing a mount target",
                        at()
                    )))
                }
            },
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                parts.get(1).unwrap_or(&parts[0]).to_string()
            }
            _ => String::new(),
        },
        Index::Expose => match e {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(invalid(format!(
                    "{}: unsupported expose value {}",
                    at(),
                    go_sprint(other)
                )))
            }
        },
        Index::Mount(default) => match e {
            Value::String(s) => format!("{default}/{s}"),
            Value::Object(m) => match m.get("target") {
                Some(t) => go_sprint(t),
                None => format!(
                    "{default}/{}",
                    m.get("source")
                        .map(go_sprint)
                        .unwrap_or_else(|| "%!s(<nil>)".into())
                ),
            },
            other => {
                return Err(invalid(format!(
                    "{}: unsupported expose value {}",
                    at(),
                    go_sprint(other)
                )))
            }
        },
        Index::Port => match e {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            Value::Object(m) => {
                let Some(target) = m.get("target") else {
                    return Err(invalid(format!(
                        "service ports {} is missing a target port",
                        at()
                    )));
                };
                format!(
                    "{}:{}:{}/{}",
                    m.get("host_ip")
                        .map(go_sprint)
                        .unwrap_or_else(|| "0.0.0.0".into()),
                    m.get("published")
                        .map(go_sprint)
                        .unwrap_or_else(|| "%!s(<nil>)".into()),
                    go_sprint(target),
                    m.get("protocol")
                        .map(go_sprint)
                        .unwrap_or_else(|| "tcp".into()),
                )
            }
            _ => String::new(),
        },
        Index::EnvFile => match e {
            Value::String(s) => s.clone(),
            Value::Object(m) => match m.get("path") {
                Some(p) => go_sprint(p),
                None => {
                    return Err(invalid(format!(
                        "environment path attribute {} is missing",
                        at()
                    )))
                }
            },
            _ => String::new(),
        },
    })
}

/// `include`: the imported model's resources join the including one; the
/// same name twice is refused unless both definitions are equal.
pub fn import_resources(source: &Value, target: &mut Map<String, Value>) -> Result<()> {
    for key in [
        "services", "volumes", "networks", "secrets", "configs", "models",
    ] {
        let Some(Value::Object(from)) = source.get(key) else {
            continue;
        };
        let to = target
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if to.is_null() {
            *to = Value::Object(Map::new());
        }
        let Value::Object(to) = to else {
            continue;
        };
        for (name, a) in from {
            if let Some(conflict) = to.get(name) {
                if conflict == a {
                    continue;
                }
                return Err(invalid(format!(
                    "{key}.{name} conflicts with imported resource"
                )));
            }
            to.insert(name.clone(), a.clone());
        }
    }
    Ok(())
}

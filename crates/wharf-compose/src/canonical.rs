//! Short syntaxes to long ones (compose-go's `transform.Canonical`), the
//! default values Compose fills in (`transform.SetDefaultValues`) and the
//! structural checks it runs on the merged tree (`validation.Validate`).

use serde_json::{json, Map, Value};

use crate::error::{invalid, Result};
use crate::merge::go_sprint;
use crate::path::{matches, Path};
use crate::ports::parse_port_config;
use crate::schema::go_type_name;
use crate::volume_spec::parse_volume;

#[derive(Clone, Copy)]
enum T {
    Service,
    FileMount,
    StringOrX,
    KeyValue,
    DependsOn,
    EnvFile,
    StringOrList,
    Extends,
    Gpus,
    StringSliceToMap,
    VolumeMount,
    DeviceMapping,
    Ports,
    Build,
    Ssh,
    Ulimits,
    MaybeExternal,
    Include,
}

const TRANSFORMERS: &[(&str, T)] = &[
    ("services.*", T::Service),
    ("services.*.build.secrets.*", T::FileMount),
    ("services.*.build.provenance", T::StringOrX),
    ("services.*.build.sbom", T::StringOrX),
    ("services.*.build.additional_contexts", T::KeyValue),
    ("services.*.depends_on", T::DependsOn),
    ("services.*.env_file", T::EnvFile),
    ("services.*.label_file", T::StringOrList),
    ("services.*.extends", T::Extends),
    ("services.*.gpus", T::Gpus),
    ("services.*.networks", T::StringSliceToMap),
    ("services.*.models", T::StringSliceToMap),
    ("services.*.volumes.*", T::VolumeMount),
    ("services.*.dns", T::StringOrList),
    ("services.*.devices.*", T::DeviceMapping),
    ("services.*.secrets.*", T::FileMount),
    ("services.*.configs.*", T::FileMount),
    ("services.*.ports", T::Ports),
    ("services.*.build", T::Build),
    ("services.*.build.ssh", T::Ssh),
    ("services.*.ulimits.*", T::Ulimits),
    ("services.*.build.ulimits.*", T::Ulimits),
    ("services.*.develop.watch.*.ignore", T::StringOrList),
    ("services.*.develop.watch.*.include", T::StringOrList),
    ("volumes.*", T::MaybeExternal),
    ("networks.*", T::MaybeExternal),
    ("secrets.*", T::MaybeExternal),
    ("configs.*", T::MaybeExternal),
    ("include.*", T::Include),
];

/// Rewrites short syntaxes into long ones, in place.
pub fn canonical(v: &mut Value, warn: &mut dyn FnMut(String)) -> Result<()> {
    let mut p = Path::new();
    transform(v, &mut p, warn)
}

fn transform(v: &mut Value, p: &mut Path, warn: &mut dyn FnMut(String)) -> Result<()> {
    if let Some((_, t)) = TRANSFORMERS.iter().find(|(pat, _)| matches(p, pat)) {
        return apply(*t, v, p, warn);
    }
    walk_children(v, p, warn)
}

fn walk_children(v: &mut Value, p: &mut Path, warn: &mut dyn FnMut(String)) -> Result<()> {
    match v {
        Value::Object(m) => {
            for (k, e) in m.iter_mut() {
                p.push(k);
                let r = transform(e, p, warn);
                p.pop();
                r?;
            }
        }
        Value::Array(items) => {
            for e in items.iter_mut() {
                p.push("[]");
                let r = transform(e, p, warn);
                p.pop();
                r?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn bad_type(p: &Path, v: &Value, what: &str) -> crate::error::ComposeError {
    invalid(format!(
        "{}: invalid type {} for {what}",
        p.dotted(),
        go_type_name(v)
    ))
}

fn apply(t: T, v: &mut Value, p: &mut Path, warn: &mut dyn FnMut(String)) -> Result<()> {
    match t {
        T::Service => {
            if v.is_object() {
                walk_children(v, p, warn)?;
            }
        }
        T::FileMount => match v {
            Value::Object(_) => {}
            Value::String(s) => *v = json!({ "source": s }),
            other => {
                return Err(invalid(format!(
                    "{}: unsupported type {}",
                    p.dotted(),
                    go_type_name(other)
                )))
            }
        },
        T::StringOrX => {
            if !v.is_string() {
                *v = Value::String(go_sprint(v));
            }
        }
        T::KeyValue => match v {
            Value::Object(_) => {}
            Value::Array(items) => {
                let mut m = Map::new();
                for e in items.iter() {
                    let s = go_sprint(e);
                    let Some((k, val)) = s.split_once('=') else {
                        return Err(invalid(format!(
                            "{}: invalid value {s}, expected key=value",
                            p.dotted()
                        )));
                    };
                    m.insert(k.to_string(), json!(val));
                }
                *v = Value::Object(m);
            }
            other => {
                return Err(invalid(format!(
                    "{}: invalid type {}",
                    p.dotted(),
                    go_type_name(other)
                )))
            }
        },
        T::DependsOn => match v {
            Value::Object(m) => {
                for (name, e) in m.iter_mut() {
                    let Value::Object(d) = e else {
                        return Err(invalid(format!(
                            "{}.{name}: unsupported value {}",
                            p.dotted(),
                            go_sprint(e)
                        )));
                    };
                    d.entry("condition").or_insert(json!("service_started"));
                    d.entry("required").or_insert(json!(true));
                }
            }
            Value::Array(items) => {
                let mut m = Map::new();
                for e in items.iter() {
                    m.insert(
                        go_sprint(e),
                        json!({"condition": "service_started", "required": true}),
                    );
                }
                *v = Value::Object(m);
            }
            other => return Err(bad_type(p, &other.clone(), "depend_on")),
        },
        T::EnvFile => {
            let one = |e: &Value| match e {
                Value::String(s) => json!({"path": s, "required": true}),
                Value::Object(m) => {
                    let mut m = m.clone();
                    m.entry("required").or_insert(json!(true));
                    Value::Object(m)
                }
                _ => Value::Null,
            };
            match v {
                Value::String(_) => *v = json!([one(v)]),
                Value::Array(items) => {
                    for e in items.iter_mut() {
                        *e = one(e);
                    }
                }
                other => return Err(bad_type(p, &other.clone(), "env_file")),
            }
        }
        T::StringOrList => {
            if let Value::String(s) = v {
                *v = json!([s]);
            }
        }
        T::Extends => match v {
            Value::Object(_) => walk_children(v, p, warn)?,
            Value::String(s) => *v = json!({ "service": s }),
            other => return Err(bad_type(p, &other.clone(), "extends")),
        },
        T::Gpus => match v {
            Value::Array(_) => walk_children(v, p, warn)?,
            Value::String(_) => *v = json!([{"count": "all"}]),
            other => return Err(bad_type(p, &other.clone(), "gpus")),
        },
        T::StringSliceToMap => {
            if let Value::Array(items) = v {
                let mut m = Map::new();
                for e in items.iter() {
                    m.insert(go_sprint(e), Value::Null);
                }
                *v = Value::Object(m);
            }
        }
        T::VolumeMount => match v {
            Value::Object(_) => {}
            Value::String(s) => {
                let mut spec = parse_volume(s)?;
                if !spec.target.is_empty() {
                    spec.target = clean_path(&spec.target);
                }
                *v = spec.to_long();
            }
            other => return Err(bad_type(p, &other.clone(), "service volume mount")),
        },
        T::DeviceMapping => match v {
            Value::Object(_) => {}
            Value::String(s) => {
                let arr: Vec<&str> = s.split(':').collect();
                let (src, mut dst, perms) = match arr.len() {
                    1 => (arr[0], "", "rwm"),
                    2 => (arr[0], arr[1], "rwm"),
                    3 => (arr[0], arr[1], arr[2]),
                    _ => {
                        return Err(invalid(format!(
                            "confusing device mapping, please use long syntax: {s}"
                        )))
                    }
                };
                if dst.is_empty() {
                    dst = src;
                }
                *v = json!({"source": src, "target": dst, "permissions": perms});
            }
            other => return Err(bad_type(p, &other.clone(), "service volume mount")),
        },
        T::Ports => match v {
            Value::Array(items) => {
                let mut ports = Vec::new();
                for e in items.iter() {
                    match e {
                        Value::Number(n) => ports.extend(parse_port_config(&n.to_string())?),
                        Value::String(s) => ports.extend(parse_port_config(s)?),
                        Value::Object(_) => ports.push(e.clone()),
                        other => return Err(bad_type(p, other, "port")),
                    }
                }
                *v = Value::Array(ports);
            }
            other => return Err(bad_type(p, &other.clone(), "port")),
        },
        T::Build => match v {
            Value::Object(_) => walk_children(v, p, warn)?,
            Value::String(s) => *v = json!({ "context": s }),
            other => return Err(bad_type(p, &other.clone(), "build")),
        },
        T::Ssh => match v {
            Value::Object(_) => {}
            Value::Array(items) => {
                let mut m = Map::new();
                for e in items.iter() {
                    let Value::String(s) = e else {
                        return Err(invalid(format!("invalid ssh key type {}", go_type_name(e))));
                    };
                    match s.split_once('=') {
                        Some((id, path)) => {
                            m.insert(id.to_string(), json!(path));
                        }
                        None if s == "default" => {
                            m.insert(s.clone(), Value::Null);
                        }
                        None => return Err(invalid(format!("invalid ssh key {s:?}"))),
                    }
                }
                *v = Value::Object(m);
            }
            other => return Err(bad_type(p, &other.clone(), "ssh")),
        },
        T::Ulimits => match v {
            Value::Object(_) | Value::Number(_) => {}
            other => return Err(bad_type(p, &other.clone(), "external")),
        },
        T::MaybeExternal => {
            if v.is_null() {
                return Ok(());
            }
            walk_children(v, p, warn)?;
            let Value::Object(res) = v else {
                return Ok(());
            };
            if let Some(Value::Object(ext)) = res.get("external").cloned() {
                res.insert("external".into(), json!(true));
                if let Some(extname) = ext.get("name") {
                    warn(format!(
                        "{}: external.name is deprecated. Please set name and external: true",
                        p.dotted()
                    ));
                    match res.get("name") {
                        Some(name) if name != extname => {
                            return Err(invalid(format!(
                                "{}: name and external.name conflict; only use name",
                                p.dotted()
                            )))
                        }
                        Some(_) => {}
                        None => {
                            res.insert("name".into(), extname.clone());
                        }
                    }
                }
            }
        }
        T::Include => match v {
            Value::Object(_) => {}
            Value::String(s) => *v = json!({ "path": s }),
            other => return Err(bad_type(p, &other.clone(), "external")),
        },
    }
    Ok(())
}

/// Compose's `omitempty` list: empty `dns` entries are dropped.
pub fn omit_empty(v: &mut Value) {
    let Some(Value::Object(services)) = v.get_mut("services") else {
        return;
    };
    for s in services.values_mut() {
        let Some(Value::Object(s)) = Some(s) else {
            continue;
        };
        if let Some(Value::Array(dns)) = s.get_mut("dns") {
            dns.retain(|e| !(e.is_null() || e.as_str() == Some("")));
        }
    }
}

/// Defaults Compose fills in once every file is merged.
pub fn set_defaults(v: &mut Value) {
    let Some(Value::Object(services)) = v.get_mut("services") else {
        return;
    };
    for s in services.values_mut() {
        let Value::Object(s) = s else {
            continue;
        };
        if let Some(Value::Object(b)) = s.get_mut("build") {
            b.entry("context").or_insert(json!("."));
        }
        if let Some(Value::Array(secrets)) = s.get_mut("secrets") {
            for e in secrets.iter_mut() {
                if let Value::Object(m) = e {
                    if !m.contains_key("target") {
                        let src = m.get("source").map(go_sprint).unwrap_or_default();
                        m.insert("target".into(), json!(format!("/run/secrets/{src}")));
                    }
                }
            }
        }
        if let Some(Value::Array(ports)) = s.get_mut("ports") {
            for e in ports.iter_mut() {
                if let Value::Object(m) = e {
                    m.entry("protocol").or_insert(json!("tcp"));
                    m.entry("mode").or_insert(json!("ingress"));
                }
            }
        }
        let default_count = |d: &mut Value| {
            if let Value::Object(m) = d {
                if !m.contains_key("count") && !m.contains_key("device_ids") {
                    m.insert("count".into(), json!("all"));
                }
            }
        };
        if let Some(Value::Array(g)) = s.get_mut("gpus") {
            g.iter_mut().for_each(default_count);
        }
        if let Some(Value::Array(d)) = s
            .get_mut("deploy")
            .and_then(|d| d.get_mut("resources"))
            .and_then(|r| r.get_mut("reservations"))
            .and_then(|r| r.get_mut("devices"))
        {
            d.iter_mut().for_each(default_count);
        }
    }
}

/// compose-go's `validation.Validate`: checks the schema cannot express.
pub fn validate(v: &Value) -> Result<()> {
    if let Some(Value::Object(vols)) = v.get("volumes") {
        for (name, vol) in vols {
            match vol {
                Value::Null => {}
                Value::Object(m) => check_external(m, &format!("volumes.{name}"))?,
                other => {
                    return Err(invalid(format!(
                        "expected volume, got {}",
                        go_sprint(other)
                    )))
                }
            }
        }
    }
    for (kind, keys) in [
        ("configs", &["file", "environment", "content"][..]),
        ("secrets", &["file", "environment"][..]),
    ] {
        if let Some(Value::Object(objs)) = v.get(kind) {
            for (name, o) in objs {
                let Value::Object(o) = o else { continue };
                let count = keys.iter().filter(|k| o.contains_key(**k)).count();
                let p = format!("{kind}.{name}");
                if count > 1 {
                    return Err(invalid(format!(
                        "{p}: {} attributes are mutually exclusive",
                        keys.join("|")
                    )));
                }
                if count == 0 && !o.contains_key("driver") && !o.contains_key("external") {
                    return Err(invalid(format!(
                        "{p}: one of {} must be set",
                        keys.join("|")
                    )));
                }
            }
        }
    }
    if let Some(Value::Object(services)) = v.get("services") {
        for (name, s) in services {
            if let Some(Value::Array(ports)) = s.get("ports") {
                for port in ports {
                    if let Some(ip) = port.get("host_ip") {
                        let ip = go_sprint(ip);
                        if ip.parse::<std::net::IpAddr>().is_err() {
                            return Err(invalid(format!(
                                "services.{name}.ports.[]: invalid ip address: {ip}"
                            )));
                        }
                    }
                }
            }
            let mut devs: Vec<&Value> = Vec::new();
            if let Some(Value::Array(g)) = s.get("gpus") {
                devs.extend(g);
            }
            if let Some(Value::Array(d)) = s.pointer("/deploy/resources/reservations/devices") {
                devs.extend(d);
            }
            for d in devs {
                if d.get("count").is_some() && d.get("device_ids").is_some() {
                    return Err(invalid(format!(
                        "services.{name}: \"count\" and \"device_ids\" attributes are exclusive"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn check_external(v: &Map<String, Value>, p: &str) -> Result<()> {
    if v.get("external") != Some(&Value::Bool(true)) {
        return Ok(());
    }
    for k in v.keys() {
        if k == "name" || k == "external" || k.starts_with("x-") {
            continue;
        }
        return Err(invalid(format!(
            "{p}: conflicting parameters \"external\" and {k:?} specified"
        )));
    }
    Ok(())
}

/// Go's `path.Clean` for slash-separated paths.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

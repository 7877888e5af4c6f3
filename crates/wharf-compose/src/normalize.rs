//! The last steps on the merged tree: relative paths made absolute
//! (`paths.ResolveRelativePaths`), `environment` entries without a value
//! looked up, and Compose's normalization (default network, resource
//! names, implicit dependencies of `links`, `network_mode: service:`,
//! `volumes_from`, build defaults).

use serde_json::{json, Map, Value};

use crate::canonical::clean_path;
use crate::merge::go_sprint;
use crate::path::{matches, Path};

/// Go's `filepath.Join(base, p)` for a relative `p`.
pub fn join(base: &str, p: &str) -> String {
    clean_path(&format!("{base}/{p}"))
}

/// `~` expanded to the home directory.
pub fn expand_user(p: &str) -> String {
    if let Some(rest) = p.strip_prefix('~') {
        if let Some(home) = std::env::var_os("HOME") {
            return join(&home.to_string_lossy(), rest);
        }
    }
    p.to_string()
}

fn abs_path(base: &str, v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|e| abs_path(base, e)),
        Value::String(s) => {
            let e = expand_user(s);
            *s = if e.starts_with('/') || e.is_empty() {
                e
            } else {
                join(base, &e)
            };
        }
        _ => {}
    }
}

fn is_remote_context(s: &str) -> bool {
    [
        "https://",
        "http://",
        "git://",
        "ssh://",
        "github.com/",
        "git@",
    ]
    .iter()
    .any(|p| s.starts_with(p))
}

#[derive(Clone, Copy)]
enum R {
    Context,
    Abs,
    Unix,
    VolumeMount,
    VolumeDriverOpts,
}

const RESOLVERS: &[(&str, R)] = &[
    ("services.*.build.context", R::Context),
    ("services.*.build.additional_contexts.*", R::Context),
    ("services.*.build.ssh.*", R::Unix),
    ("services.*.env_file.*.path", R::Abs),
    ("services.*.label_file.*", R::Abs),
    ("services.*.extends.file", R::Abs),
    ("services.*.develop.watch.*.path", R::Abs),
    ("services.*.volumes.*", R::VolumeMount),
    ("configs.*.file", R::Unix),
    ("secrets.*.file", R::Unix),
    ("include.path", R::Abs),
    ("include.project_directory", R::Abs),
    ("include.env_file", R::Abs),
    ("volumes.*", R::VolumeDriverOpts),
];

/// Makes the model's relative paths absolute against `base`.
pub fn resolve_relative_paths(v: &mut Value, base: &str) -> crate::error::Result<()> {
    let mut p = Path::new();
    resolve(v, &mut p, base)
}

fn resolve(v: &mut Value, p: &mut Path, base: &str) -> crate::error::Result<()> {
    if let Some((_, r)) = RESOLVERS.iter().find(|(pat, _)| matches(p, pat)) {
        match r {
            R::Context => {
                if let Value::String(s) = v {
                    if s.contains("://") || s.starts_with("service:") || is_remote_context(s) {
                        return Ok(());
                    }
                }
                abs_path(base, v);
            }
            R::Abs | R::Unix => abs_path(base, v),
            R::VolumeMount => {
                if let Value::Object(m) = v {
                    if m.get("type").and_then(Value::as_str) == Some("bind") {
                        let Some(src) = m.get_mut("source") else {
                            return Err(crate::error::invalid(
                                "invalid mount config for type \"bind\": field Source must not be empty",
                            ));
                        };
                        abs_path(base, src);
                    }
                }
            }
            R::VolumeDriverOpts => {
                if let Value::Object(m) = v {
                    if m.get("driver").and_then(Value::as_str) == Some("local") {
                        if let Some(Value::Object(opts)) = m.get_mut("driver_opts") {
                            if opts.get("o").and_then(Value::as_str) == Some("bind") {
                                if let Some(dev) = opts.get_mut("device") {
                                    abs_path(base, dev);
                                }
                            }
                        }
                    }
                }
            }
        }
        return Ok(());
    }
    match v {
        Value::Object(m) => {
            for (k, e) in m.iter_mut() {
                p.push(k);
                let r = resolve(e, p, base);
                p.pop();
                r?;
            }
        }
        Value::Array(items) => {
            for e in items.iter_mut() {
                p.push("[]");
                let r = resolve(e, p, base);
                p.pop();
                r?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `ResolveEnvironment`: list entries `KEY` get `KEY=value` from the
/// project environment; secrets and configs from `environment:` get it.
pub fn resolve_environment(v: &mut Value, env: &dyn Fn(&str) -> Option<String>) {
    if let Some(Value::Object(services)) = v.get_mut("services") {
        for s in services.values_mut() {
            if let Some(Value::Array(list)) = s.get_mut("environment") {
                let resolved: Vec<Value> = list
                    .iter()
                    .filter_map(|e| e.as_str())
                    .map(|k| match env(k) {
                        Some(val) => json!(format!("{k}={val}")),
                        None => json!(k),
                    })
                    .collect();
                *list = resolved;
            }
        }
    }
    for (kind, target) in [("secrets", "x-#value"), ("configs", "content")] {
        if let Some(Value::Object(objs)) = v.get_mut(kind) {
            for o in objs.values_mut() {
                let Value::Object(o) = o else { continue };
                if let Some(Value::String(var)) = o.get("environment") {
                    if let Some(val) = env(var) {
                        o.insert(target.into(), json!(val));
                    }
                }
            }
        }
    }
}

fn implicit_dep(restart: bool) -> Value {
    json!({"condition": "service_started", "restart": restart, "required": true})
}

/// compose-go's `Normalize` (the project name is already in `name`).
pub fn normalize(dict: &mut Map<String, Value>, env: &dyn Fn(&str) -> Option<String>) {
    normalize_networks(dict);
    if let Some(Value::Object(services)) = dict.get_mut("services") {
        for s in services.values_mut() {
            let Value::Object(service) = s else { continue };
            if service.get("pull_policy").and_then(Value::as_str) == Some("if_not_present") {
                service.insert("pull_policy".into(), json!("missing"));
            }
            if let Some(Value::Object(build)) = service.get_mut("build") {
                if build.get("context").is_none_or(Value::is_null) {
                    build.insert("context".into(), json!("."));
                }
                if build.get("dockerfile").is_none_or(Value::is_null)
                    && build.get("dockerfile_inline").is_none_or(Value::is_null)
                {
                    build.insert("dockerfile".into(), json!("Dockerfile"));
                }
                if let Some(args) = build.get_mut("args") {
                    resolve_mapping(args, env, false);
                }
            }
            if let Some(e) = service.get_mut("environment") {
                resolve_mapping(e, env, true);
            }
            let mut deps = match service.get("depends_on") {
                Some(Value::Object(d)) => d.clone(),
                _ => Map::new(),
            };
            if let Some(Value::Array(links)) = service.get("links") {
                for l in links {
                    let l = go_sprint(l);
                    let parts: Vec<&str> = l.split(':').collect();
                    let name = if parts.len() == 2 {
                        parts[0]
                    } else {
                        l.as_str()
                    };
                    deps.entry(name.to_string()).or_insert(implicit_dep(true));
                }
            }
            for ns in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
                if let Some(Value::String(r)) = service.get(ns) {
                    if let Some(shared) = r.strip_prefix("service:") {
                        deps.entry(shared.to_string()).or_insert(implicit_dep(true));
                    }
                }
            }
            if let Some(Value::Array(vols)) = service.get_mut("volumes") {
                for v in vols.iter_mut() {
                    if let Some(Value::String(t)) = v.get_mut("target") {
                        *t = clean_path(t);
                    }
                }
            }
            if let Some(Value::Array(from)) = service.get("volumes_from") {
                for v in from {
                    let v = go_sprint(v);
                    if !v.starts_with("container:") {
                        let name = v.split(':').next().unwrap_or_default();
                        deps.entry(name.to_string()).or_insert(implicit_dep(false));
                    }
                }
            }
            if !deps.is_empty() {
                service.insert("depends_on".into(), Value::Object(deps));
            }
        }
    }
    let project = dict.get("name").map(go_sprint).unwrap_or_default();
    for kind in ["networks", "volumes", "configs", "secrets"] {
        let Some(Value::Object(top)) = dict.get_mut(kind) else {
            continue;
        };
        for (key, r) in top.iter_mut() {
            if r.is_null() {
                *r = Value::Object(Map::new());
            }
            let Value::Object(res) = r else { continue };
            if res.get("name").is_none_or(Value::is_null) {
                let external = res.get("external").is_some_and(|x| go_sprint(x) == "true");
                let name = if external {
                    key.clone()
                } else {
                    format!("{project}_{key}")
                };
                res.insert("name".into(), json!(name));
            }
        }
    }
}

fn normalize_networks(dict: &mut Map<String, Value>) {
    let mut uses_default = false;
    if let Some(Value::Object(services)) = dict.get_mut("services") {
        for s in services.values_mut() {
            let Value::Object(service) = s else { continue };
            if service.contains_key("provider") || service.contains_key("network_mode") {
                continue;
            }
            match service.get("networks") {
                Some(Value::Object(n)) if !n.is_empty() => {
                    if n.contains_key("default") {
                        uses_default = true;
                    }
                }
                _ => {
                    service.insert("networks".into(), json!({"default": null}));
                    uses_default = true;
                }
            }
        }
    }
    let networks = dict
        .entry("networks")
        .or_insert_with(|| Value::Object(Map::new()));
    if networks.is_null() {
        *networks = Value::Object(Map::new());
    }
    if let Value::Object(n) = networks {
        if uses_default && !n.contains_key("default") {
            n.insert("default".into(), Value::Null);
        }
        if n.is_empty() {
            dict.shift_remove("networks");
        }
    }
}

/// `environment` / `build.args` entries without a value, looked up.
fn resolve_mapping(v: &mut Value, env: &dyn Fn(&str) -> Option<String>, keep_empty: bool) {
    match v {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for e in items.iter() {
                match e {
                    Value::String(s) if !s.contains('=') => match env(s) {
                        Some(val) => out.push(json!(format!("{s}={val}"))),
                        None if keep_empty => out.push(e.clone()),
                        None => {}
                    },
                    Value::String(_) => out.push(e.clone()),
                    _ => {}
                }
            }
            *items = out;
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in std::mem::take(m) {
                if !val.is_null() {
                    out.insert(k, val);
                } else if let Some(s) = env(&k) {
                    out.insert(k, json!(s));
                } else if keep_empty {
                    out.insert(k, Value::Null);
                }
            }
            *m = out;
        }
        _ => {}
    }
}

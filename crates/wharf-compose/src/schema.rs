//! Validation of a compose document against the compose specification's
//! structure, with Compose's messages: `services.app additional properties
//! 'imagee' not allowed`, `services.app.ports must be a array`,
//! `... value must be one of 'a', 'b'`.
//!
//! The structure is written here with small builders (not the JSON schema
//! file itself); like Compose, when several errors are found the deepest
//! one is reported (an unknown key counts one level deeper).

use std::sync::OnceLock;

use serde_json::Value;

/// Go's name of a dynamic value's type, for messages (`%T`).
pub fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

enum S {
    Any,
    /// One of the simple JSON types: string number integer boolean null
    /// object array.
    Types(&'static [&'static str]),
    Enum(&'static [&'static str]),
    Arr(Box<S>),
    /// An object with free keys (matching `names` if set).
    Dict(Box<S>, bool),
    Obj(Vec<(&'static str, S)>),
    OneOf(Vec<S>),
}

fn t(types: &'static [&'static str]) -> S {
    S::Types(types)
}
fn st() -> S {
    t(&["string"])
}
fn arr(s: S) -> S {
    S::Arr(Box::new(s))
}
fn obj(props: Vec<(&'static str, S)>) -> S {
    S::Obj(props)
}
fn one(v: Vec<S>) -> S {
    S::OneOf(v)
}
fn dict(s: S) -> S {
    S::Dict(Box::new(s), false)
}
fn named(s: S) -> S {
    S::Dict(Box::new(s), true)
}
fn list_of_strings() -> S {
    arr(st())
}
fn list_or_dict() -> S {
    one(vec![
        dict(t(&["string", "number", "boolean", "null"])),
        list_of_strings(),
    ])
}
fn string_or_list() -> S {
    one(vec![st(), list_of_strings()])
}
fn command() -> S {
    one(vec![t(&["null"]), st(), list_of_strings()])
}
fn str_or_num() -> S {
    t(&["number", "string"])
}
fn bool_or_str() -> S {
    t(&["boolean", "string"])
}
fn int_or_str() -> S {
    t(&["integer", "string"])
}

fn ulimits() -> S {
    dict(one(vec![
        int_or_str(),
        obj(vec![("hard", int_or_str()), ("soft", int_or_str())]),
    ]))
}

fn extra_hosts() -> S {
    one(vec![
        dict(one(vec![st(), list_of_strings()])),
        list_of_strings(),
    ])
}

fn file_mounts() -> S {
    arr(one(vec![
        st(),
        obj(vec![
            ("source", st()),
            ("target", st()),
            ("uid", st()),
            ("gid", st()),
            ("mode", t(&["number", "string"])),
        ]),
    ]))
}

fn device_request() -> S {
    obj(vec![
        ("capabilities", list_of_strings()),
        ("count", t(&["string", "integer"])),
        ("device_ids", list_of_strings()),
        ("driver", st()),
        ("options", list_or_dict()),
    ])
}

fn resource() -> S {
    obj(vec![
        ("cpus", str_or_num()),
        ("memory", st()),
        ("pids", int_or_str()),
        ("devices", arr(device_request())),
        ("generic_resources", arr(S::Any)),
    ])
}

fn update_config() -> S {
    obj(vec![
        ("parallelism", int_or_str()),
        ("delay", st()),
        ("failure_action", st()),
        ("monitor", st()),
        ("max_failure_ratio", str_or_num()),
        ("order", S::Enum(&["start-first", "stop-first"])),
    ])
}

fn deploy() -> S {
    one(vec![
        t(&["null"]),
        obj(vec![
            ("mode", st()),
            ("endpoint_mode", st()),
            ("replicas", int_or_str()),
            ("labels", list_or_dict()),
            ("rollback_config", update_config()),
            ("update_config", update_config()),
            (
                "resources",
                obj(vec![("limits", resource()), ("reservations", resource())]),
            ),
            (
                "restart_policy",
                obj(vec![
                    ("condition", st()),
                    ("delay", st()),
                    ("max_attempts", int_or_str()),
                    ("window", st()),
                ]),
            ),
            (
                "placement",
                obj(vec![
                    ("constraints", list_of_strings()),
                    ("preferences", arr(obj(vec![("spread", st())]))),
                    ("max_replicas_per_node", int_or_str()),
                ]),
            ),
        ]),
    ])
}

fn healthcheck() -> S {
    obj(vec![
        ("disable", bool_or_str()),
        ("interval", st()),
        ("retries", str_or_num()),
        ("test", one(vec![st(), list_of_strings()])),
        ("timeout", st()),
        ("start_period", st()),
        ("start_interval", st()),
    ])
}

fn build() -> S {
    one(vec![
        st(),
        obj(vec![
            ("context", st()),
            ("dockerfile", st()),
            ("dockerfile_inline", st()),
            ("entitlements", arr(st())),
            ("args", list_or_dict()),
            ("ssh", list_or_dict()),
            ("labels", list_or_dict()),
            ("cache_from", arr(st())),
            ("cache_to", arr(st())),
            ("no_cache", bool_or_str()),
            ("additional_contexts", list_or_dict()),
            ("network", st()),
            ("provenance", t(&["string", "boolean"])),
            ("sbom", t(&["string", "boolean"])),
            ("pull", bool_or_str()),
            ("target", st()),
            ("shm_size", t(&["integer", "string"])),
            ("extra_hosts", extra_hosts()),
            ("isolation", st()),
            ("privileged", bool_or_str()),
            ("secrets", file_mounts()),
            ("tags", arr(st())),
            ("ulimits", ulimits()),
            ("platforms", arr(st())),
        ]),
    ])
}

fn service_volume() -> S {
    one(vec![
        st(),
        obj(vec![
            ("type", st()),
            ("source", st()),
            ("target", st()),
            ("read_only", bool_or_str()),
            ("consistency", st()),
            (
                "bind",
                obj(vec![
                    ("propagation", st()),
                    ("create_host_path", bool_or_str()),
                    (
                        "recursive",
                        S::Enum(&["enabled", "disabled", "writable", "readonly"]),
                    ),
                    ("selinux", S::Enum(&["z", "Z"])),
                ]),
            ),
            (
                "volume",
                obj(vec![
                    ("labels", list_or_dict()),
                    ("nocopy", bool_or_str()),
                    ("subpath", st()),
                ]),
            ),
            (
                "tmpfs",
                obj(vec![
                    ("size", t(&["integer", "string"])),
                    ("mode", str_or_num()),
                ]),
            ),
            ("image", obj(vec![("subpath", st())])),
        ]),
    ])
}

fn service() -> S {
    obj(vec![
        ("develop", t(&["object", "null"])),
        ("deploy", deploy()),
        ("annotations", list_or_dict()),
        ("attach", bool_or_str()),
        ("build", build()),
        ("blkio_config", t(&["object"])),
        ("cap_add", arr(st())),
        ("cap_drop", arr(st())),
        ("cgroup", S::Enum(&["host", "private"])),
        ("cgroup_parent", st()),
        ("command", command()),
        ("configs", file_mounts()),
        ("container_name", st()),
        ("cpu_count", int_or_str()),
        ("cpu_percent", int_or_str()),
        ("cpu_shares", str_or_num()),
        ("cpu_quota", str_or_num()),
        ("cpu_period", str_or_num()),
        ("cpu_rt_period", str_or_num()),
        ("cpu_rt_runtime", str_or_num()),
        ("cpus", str_or_num()),
        ("cpuset", st()),
        ("credential_spec", t(&["object"])),
        (
            "depends_on",
            one(vec![
                list_of_strings(),
                named(obj(vec![
                    ("restart", bool_or_str()),
                    ("required", t(&["boolean"])),
                    (
                        "condition",
                        S::Enum(&[
                            "service_started",
                            "service_healthy",
                            "service_completed_successfully",
                        ]),
                    ),
                ])),
            ]),
        ),
        ("device_cgroup_rules", list_of_strings()),
        ("devices", arr(one(vec![st(), t(&["object"])]))),
        ("dns", string_or_list()),
        ("dns_opt", arr(st())),
        ("dns_search", string_or_list()),
        ("domainname", st()),
        ("entrypoint", command()),
        (
            "env_file",
            one(vec![
                st(),
                arr(one(vec![
                    st(),
                    obj(vec![
                        ("path", st()),
                        ("format", st()),
                        ("required", bool_or_str()),
                    ]),
                ])),
            ]),
        ),
        ("label_file", one(vec![st(), arr(st())])),
        ("environment", list_or_dict()),
        ("expose", arr(t(&["string", "number"]))),
        (
            "extends",
            one(vec![st(), obj(vec![("service", st()), ("file", st())])]),
        ),
        ("provider", t(&["object"])),
        ("external_links", arr(st())),
        ("extra_hosts", extra_hosts()),
        ("gpus", one(vec![S::Enum(&["all"]), arr(device_request())])),
        ("group_add", arr(t(&["string", "number"]))),
        ("healthcheck", healthcheck()),
        ("hostname", st()),
        ("image", st()),
        ("init", bool_or_str()),
        ("ipc", st()),
        ("isolation", st()),
        ("labels", list_or_dict()),
        ("links", arr(st())),
        (
            "logging",
            obj(vec![
                ("driver", st()),
                ("options", dict(t(&["string", "number", "null"]))),
            ]),
        ),
        ("mac_address", st()),
        ("mem_limit", str_or_num()),
        ("mem_reservation", t(&["string", "integer"])),
        ("mem_swappiness", int_or_str()),
        ("memswap_limit", str_or_num()),
        ("network_mode", st()),
        ("models", one(vec![list_of_strings(), t(&["object"])])),
        (
            "networks",
            one(vec![
                list_of_strings(),
                named(one(vec![
                    obj(vec![
                        ("aliases", list_of_strings()),
                        ("interface_name", st()),
                        ("ipv4_address", st()),
                        ("ipv6_address", st()),
                        ("link_local_ips", list_of_strings()),
                        ("mac_address", st()),
                        ("driver_opts", dict(t(&["string", "number"]))),
                        ("priority", t(&["number"])),
                        ("gw_priority", t(&["number"])),
                    ]),
                    t(&["null"]),
                ])),
            ]),
        ),
        ("oom_kill_disable", bool_or_str()),
        ("oom_score_adj", int_or_str()),
        ("pid", t(&["string", "null"])),
        ("pids_limit", str_or_num()),
        ("platform", st()),
        (
            "ports",
            arr(one(vec![
                t(&["number"]),
                st(),
                obj(vec![
                    ("name", st()),
                    ("mode", st()),
                    ("host_ip", st()),
                    ("target", int_or_str()),
                    ("published", t(&["string", "integer"])),
                    ("protocol", st()),
                    ("app_protocol", st()),
                ]),
            ])),
        ),
        ("post_start", arr(t(&["object"]))),
        ("pre_stop", arr(t(&["object"]))),
        ("privileged", bool_or_str()),
        ("profiles", list_of_strings()),
        ("pull_policy", st()),
        ("pull_refresh_after", st()),
        ("read_only", bool_or_str()),
        ("restart", st()),
        ("runtime", st()),
        ("scale", int_or_str()),
        ("security_opt", arr(st())),
        ("shm_size", str_or_num()),
        ("secrets", file_mounts()),
        ("sysctls", list_or_dict()),
        ("stdin_open", bool_or_str()),
        ("stop_grace_period", st()),
        ("stop_signal", st()),
        ("storage_opt", t(&["object"])),
        ("tmpfs", string_or_list()),
        ("tty", bool_or_str()),
        ("ulimits", ulimits()),
        ("use_api_socket", t(&["boolean"])),
        ("user", st()),
        ("uts", st()),
        ("userns_mode", st()),
        ("volumes", arr(service_volume())),
        ("volumes_from", arr(st())),
        ("working_dir", st()),
    ])
}

fn network() -> S {
    one(vec![
        t(&["null"]),
        obj(vec![
            ("name", st()),
            ("driver", st()),
            ("driver_opts", dict(t(&["string", "number"]))),
            (
                "ipam",
                obj(vec![
                    ("driver", st()),
                    (
                        "config",
                        arr(obj(vec![
                            ("subnet", st()),
                            ("ip_range", st()),
                            ("gateway", st()),
                            ("aux_addresses", dict(st())),
                        ])),
                    ),
                    ("options", dict(st())),
                ]),
            ),
            (
                "external",
                one(vec![bool_or_str(), obj(vec![("name", st())])]),
            ),
            ("internal", bool_or_str()),
            ("enable_ipv4", bool_or_str()),
            ("enable_ipv6", bool_or_str()),
            ("attachable", bool_or_str()),
            ("labels", list_or_dict()),
        ]),
    ])
}

fn volume() -> S {
    one(vec![
        t(&["null"]),
        obj(vec![
            ("name", st()),
            ("driver", st()),
            ("driver_opts", dict(t(&["string", "number"]))),
            (
                "external",
                one(vec![bool_or_str(), obj(vec![("name", st())])]),
            ),
            ("labels", list_or_dict()),
        ]),
    ])
}

fn file_object(with_content: bool) -> S {
    let mut props = vec![
        ("name", st()),
        ("environment", st()),
        ("file", st()),
        (
            "external",
            one(vec![bool_or_str(), obj(vec![("name", st())])]),
        ),
        ("labels", list_or_dict()),
        ("driver", st()),
        ("driver_opts", dict(t(&["string", "number"]))),
        ("template_driver", st()),
    ];
    if with_content {
        props.push(("content", st()));
    }
    obj(props)
}

fn project() -> S {
    obj(vec![
        ("version", st()),
        ("name", st()),
        (
            "include",
            arr(one(vec![
                st(),
                obj(vec![
                    ("path", string_or_list()),
                    ("env_file", string_or_list()),
                    ("project_directory", st()),
                ]),
            ])),
        ),
        ("services", named(service())),
        ("models", t(&["object"])),
        ("networks", named(network())),
        ("volumes", named(volume())),
        ("secrets", named(file_object(false))),
        ("configs", named(file_object(true))),
    ])
}

fn schema() -> &'static S {
    static SCHEMA: OnceLock<S> = OnceLock::new();
    SCHEMA.get_or_init(project)
}

struct Failure {
    path: Vec<String>,
    message: String,
    specificity: usize,
}

/// Validates a merged document; the error is Compose's text without the
/// `validating FILE: ` prefix.
pub fn validate(v: &Value) -> Result<(), String> {
    let mut path = Vec::new();
    match check(schema(), v, &mut path) {
        None => Ok(()),
        Some(f) => {
            let p = f.path.join(".");
            Err(format!("{p} {}", f.message).trim_start().to_string())
        }
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => false,
    }
}

fn human(ty: &str) -> &str {
    if ty == "object" {
        "mapping"
    } else {
        ty
    }
}

fn type_failure(path: &[String], want: &[&str]) -> Failure {
    let text = if want.len() == 1 {
        human(want[0]).to_string()
    } else {
        let mut w: Vec<&str> = want.iter().map(|t| human(t)).collect();
        w.sort();
        let (last, init) = w
            .split_last()
            .map(|(l, i)| (*l, i.to_vec()))
            .unwrap_or_default();
        format!("{} or {last}", init.join(", "))
    };
    Failure {
        path: path.to_vec(),
        message: format!("must be a {text}"),
        specificity: path.len(),
    }
}

fn best(fails: Vec<Failure>) -> Option<Failure> {
    let mut best: Option<Failure> = None;
    for f in fails {
        if best.as_ref().is_none_or(|b| f.specificity > b.specificity) {
            best = Some(f);
        }
    }
    best
}

fn is_name(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check(s: &S, v: &Value, path: &mut Vec<String>) -> Option<Failure> {
    match s {
        S::Any => None,
        S::Types(types) => {
            if types.iter().any(|t| type_ok(t, v)) {
                None
            } else {
                Some(type_failure(path, types))
            }
        }
        S::Enum(values) => {
            if v.as_str().is_some_and(|s| values.contains(&s)) {
                return None;
            }
            let list: Vec<String> = values.iter().map(|x| format!("'{x}'")).collect();
            Some(Failure {
                path: path.clone(),
                message: format!("value must be one of {}", list.join(", ")),
                specificity: path.len(),
            })
        }
        S::Arr(item) => {
            let Value::Array(items) = v else {
                return Some(type_failure(path, &["array"]));
            };
            let mut fails = Vec::new();
            for (i, e) in items.iter().enumerate() {
                path.push(i.to_string());
                if let Some(f) = check(item, e, path) {
                    fails.push(f);
                }
                path.pop();
            }
            best(fails)
        }
        S::Dict(item, names) => {
            let Value::Object(m) = v else {
                return Some(type_failure(path, &["object"]));
            };
            let mut fails = Vec::new();
            let mut extra = Vec::new();
            for (k, e) in m {
                if *names && !is_name(k) && !k.starts_with("x-") {
                    extra.push(k.clone());
                    continue;
                }
                if *names && k.starts_with("x-") {
                    continue;
                }
                path.push(k.clone());
                if let Some(f) = check(item, e, path) {
                    fails.push(f);
                }
                path.pop();
            }
            if !extra.is_empty() {
                fails.push(additional(path, &extra));
            }
            best(fails)
        }
        S::Obj(props) => {
            let Value::Object(m) = v else {
                return Some(type_failure(path, &["object"]));
            };
            let mut fails = Vec::new();
            let mut extra = Vec::new();
            for (k, e) in m {
                match props.iter().find(|(name, _)| name == k) {
                    Some((_, ps)) => {
                        path.push(k.clone());
                        if let Some(f) = check(ps, e, path) {
                            fails.push(f);
                        }
                        path.pop();
                    }
                    None if k.starts_with("x-") => {}
                    None => extra.push(k.clone()),
                }
            }
            if !extra.is_empty() {
                fails.push(additional(path, &extra));
            }
            best(fails)
        }
        S::OneOf(options) => {
            let mut fails = Vec::new();
            for o in options {
                match check(o, v, path) {
                    None => return None,
                    Some(f) => fails.push(f),
                }
            }
            best(fails)
        }
    }
}

fn additional(path: &[String], extra: &[String]) -> Failure {
    let list: Vec<String> = extra.iter().map(|k| format!("'{k}'")).collect();
    Failure {
        path: path.to_vec(),
        message: format!("additional properties {} not allowed", list.join(", ")),
        specificity: path.len() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages() {
        let e = validate(&json!({"services": {"app": {"imagee": "x"}}})).unwrap_err();
        assert_eq!(e, "services.app additional properties 'imagee' not allowed");
        let e = validate(&json!({"services": {"app": {"ports": 5}}})).unwrap_err();
        assert_eq!(e, "services.app.ports must be a array");
        let e = validate(&json!({"services": {"app": {"build": 5}}})).unwrap_err();
        assert_eq!(e, "services.app.build must be a string");
        let e = validate(&json!({"services": {"app": {"environment": 5}}})).unwrap_err();
        assert_eq!(e, "services.app.environment must be a mapping");
        assert!(
            validate(&json!({"services": {"app": {"image": "x", "x-foo": 1}}, "x-bar": {}}))
                .is_ok()
        );
    }
}

//! `--security-opt` values, parsed with moby's `parseSecurityOpt` rules and
//! messages.

use super::SpecError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    pub no_new_privileges: bool,
    /// `seccomp=`: `unconfined`, `builtin`, a file name or inline JSON.
    pub seccomp: Option<String>,
    /// `apparmor=`: a profile name (or `unconfined`).
    pub apparmor: Option<String>,
    /// `writable-cgroups[=bool]`; `None` = writable only when privileged.
    pub writable_cgroups: Option<bool>,
    /// `label=` values; accepted and ignored (no SELinux support), as Docker
    /// does on hosts without SELinux.
    pub labels: Vec<String>,
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOptions, SpecError> {
    let mut parsed = SecurityOptions::default();
    for opt in opts {
        match opt.as_str() {
            "no-new-privileges" => {
                parsed.no_new_privileges = true;
                continue;
            }
            "writable-cgroups" => {
                parsed.writable_cgroups = Some(true);
                continue;
            }
            "disable" => {
                parsed.labels.push("disable".into());
                continue;
            }
            _ => {}
        }
        // `=` is the separator; `:` is the deprecated one.
        let split = if opt.contains('=') {
            opt.split_once('=')
        } else {
            opt.split_once(':')
        };
        let Some((key, value)) = split else {
            return Err(SpecError::invalid(format!(
                "invalid --security-opt 1: {opt:?}"
            )));
        };
        let invalid2 = || SpecError::invalid(format!("invalid --security-opt 2: {opt:?}"));
        match key {
            "label" => parsed.labels.push(value.to_string()),
            "apparmor" => parsed.apparmor = Some(value.to_string()),
            "seccomp" => parsed.seccomp = Some(value.to_string()),
            "no-new-privileges" => {
                parsed.no_new_privileges = parse_bool(value).ok_or_else(invalid2)?;
            }
            "writable-cgroups" => {
                parsed.writable_cgroups = Some(parse_bool(value).ok_or_else(invalid2)?);
            }
            _ => return Err(invalid2()),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> Result<SecurityOptions, SpecError> {
        parse_security_opts(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn docker_forms() {
        assert!(parse(&["no-new-privileges"]).unwrap().no_new_privileges);
        assert!(
            parse(&["no-new-privileges:true"])
                .unwrap()
                .no_new_privileges
        );
        assert!(parse(&["no-new-privileges=1"]).unwrap().no_new_privileges);
        assert!(
            !parse(&["no-new-privileges", "no-new-privileges=false"])
                .unwrap()
                .no_new_privileges
        );
        let p = parse(&[
            "seccomp=unconfined",
            "apparmor=docker-default",
            "label=disable",
        ])
        .unwrap();
        assert_eq!(p.seccomp.as_deref(), Some("unconfined"));
        assert_eq!(p.apparmor.as_deref(), Some("docker-default"));
        assert_eq!(p.labels, ["disable"]);
        // A JSON profile keeps its own `:` and `=`.
        let p = parse(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#]).unwrap();
        assert_eq!(
            p.seccomp.as_deref(),
            Some(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#)
        );
    }

    #[test]
    fn bad_options_fail_like_docker() {
        assert_eq!(
            parse(&["label"]).unwrap_err().to_string(),
            r#"invalid --security-opt 1: "label""#
        );
        assert_eq!(
            parse(&["unknown=something"]).unwrap_err().to_string(),
            r#"invalid --security-opt 2: "unknown=something""#
        );
        assert_eq!(
            parse(&["no-new-privileges=maybe"]).unwrap_err().to_string(),
            r#"invalid --security-opt 2: "no-new-privileges=maybe""#
        );
    }
}

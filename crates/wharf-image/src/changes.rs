//! `--change` lines (Dockerfile instructions) applied to an image config,
//! as `docker import` and `docker commit` do (the daemon's BuildFromConfig):
//! each instruction is expanded with the environment the config has so far.

use std::collections::BTreeMap;

use wharf_dockerfile::{parse_changes, CommandForm, InstructionKind, Lexer};
use wharf_oci::config::{EmptyObject, HealthConfig};
use wharf_oci::ContainerConfig;

use crate::{ImageError, ImageResult};

/// The shell docker prepends to shell-form CMD/ENTRYPOINT.
const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

fn env_lookup(env: &[String], name: &str) -> Option<String> {
    env.iter()
        .rev()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
}

/// Set `KEY=value` in a Docker env list, replacing an earlier value in place.
pub fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|kv| kv.split_once('=').map(|(k, _)| k) == Some(key))
    {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

fn command(form: &CommandForm, shell: &Option<Vec<String>>) -> Vec<String> {
    match form {
        CommandForm::Exec(args) => args.clone(),
        CommandForm::Shell(s) => {
            let mut v: Vec<String> = match shell {
                Some(sh) => sh.clone(),
                None => DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
            };
            v.push(s.clone());
            v
        }
    }
}

/// `8080` → `8080/tcp`, `53/udp` stays, `8000-8001` → both ports.
pub fn exposed_ports(spec: &str) -> ImageResult<Vec<String>> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(ImageError::invalid(format!("invalid proto: {proto}")));
    }
    let bad = || ImageError::invalid(format!("invalid containerPort: {ports}"));
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> ImageResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let instructions = parse_changes(changes)
        .map_err(|e| ImageError::invalid(format!("invalid --change: {e}")))?;
    let lexer = Lexer::new('\\');
    for ins in instructions {
        let env = config.env.clone();
        let lookup = move |name: &str| env_lookup(&env, name);
        let (ins, _) = ins
            .expand(&lexer, &lookup)
            .map_err(|e| ImageError::invalid(format!("invalid --change: {e}")))?;
        if !apply_instruction(config, ins.kind)? {
            return Err(ImageError::invalid(format!(
                "{} is not a valid change command",
                ins.keyword.to_uppercase()
            )));
        }
    }
    Ok(())
}

/// Apply one already-expanded config instruction (CMD, ENV, EXPOSE, ...) to
/// `config`; false for instructions that do not change the config alone
/// (RUN, COPY, FROM ...).
pub fn apply_instruction(config: &mut ContainerConfig, kind: InstructionKind) -> ImageResult<bool> {
    {
        match kind {
            InstructionKind::Cmd(form) => config.cmd = Some(command(&form, &config.shell)),
            InstructionKind::Entrypoint(form) => {
                config.entrypoint = Some(command(&form, &config.shell))
            }
            InstructionKind::Env(kvs) => {
                for kv in kvs {
                    set_env(&mut config.env, &kv.key, &kv.value);
                }
            }
            InstructionKind::Label(kvs) => {
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                for kv in kvs {
                    labels.insert(kv.key, kv.value);
                }
            }
            InstructionKind::Expose(specs) => {
                let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for s in specs {
                    for p in exposed_ports(&s)? {
                        ports.insert(p, EmptyObject {});
                    }
                }
            }
            InstructionKind::Workdir(dir) => {
                // Relative WORKDIRs build on the previous one, as in a Dockerfile.
                config.working_dir = if dir.starts_with('/') || config.working_dir.is_empty() {
                    dir
                } else {
                    format!("{}/{}", config.working_dir.trim_end_matches('/'), dir)
                };
            }
            InstructionKind::User(u) => config.user = u,
            InstructionKind::Volume(vols) => {
                let v = config.volumes.get_or_insert_with(BTreeMap::new);
                for vol in vols {
                    v.insert(vol, EmptyObject {});
                }
            }
            InstructionKind::StopSignal(s) => config.stop_signal = s,
            InstructionKind::OnBuild(o) => config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(o.expression),
            InstructionKind::Healthcheck(h) => {
                let ns = |d: std::time::Duration| d.as_nanos() as i64;
                config.healthcheck = Some(HealthConfig {
                    test: Some(h.test),
                    interval: ns(h.interval),
                    timeout: ns(h.timeout),
                    start_period: ns(h.start_period),
                    start_interval: ns(h.start_interval),
                    retries: h.retries as i64,
                });
            }
            InstructionKind::Shell(sh) => config.shell = Some(sh),
            _ => return Ok(false),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(lines: &[&str]) -> ImageResult<ContainerConfig> {
        let mut c = ContainerConfig::default();
        apply_changes(
            &mut c,
            &lines.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )?;
        Ok(c)
    }

    #[test]
    fn applies_like_docker_import() {
        let c = apply(&[
            "ENV A=1 B=\"x y\"",
            "ENV C=$A-${B}",
            "CMD echo $A",
            "ENTRYPOINT [\"/bin/app\"]",
            "EXPOSE 80 53/udp 8000-8001",
            "WORKDIR /srv",
            "WORKDIR app",
            "LABEL k=v",
            "USER 1000:1000",
            "VOLUME /data",
            "STOPSIGNAL SIGINT",
            "HEALTHCHECK --interval=5s CMD true",
        ])
        .unwrap();
        assert_eq!(c.env, ["A=1", "B=x y", "C=1-x y"]);
        assert_eq!(
            c.cmd,
            Some(vec!["/bin/sh".into(), "-c".into(), "echo $A".into()])
        );
        assert_eq!(c.entrypoint, Some(vec!["/bin/app".into()]));
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        assert_eq!(c.working_dir, "/srv/app");
        assert_eq!(c.user, "1000:1000");
        assert_eq!(c.stop_signal, "SIGINT");
        let h = c.healthcheck.unwrap();
        assert_eq!(h.test, Some(vec!["CMD-SHELL".into(), "true".into()]));
        assert_eq!(h.interval, 5_000_000_000);
    }

    #[test]
    fn rejects_build_only_instructions() {
        let e = apply(&["RUN echo hi"]).unwrap_err().to_string();
        assert!(e.contains("RUN is not a valid change command"), "{e}");
        assert!(apply(&["EXPOSE 99999"]).is_err());
    }
}

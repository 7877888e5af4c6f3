//! Instructions that only change the image config (ENV, LABEL, CMD,
//! EXPOSE ...), with the `created_by` text BuildKit records for each.

use wharf_dockerfile::{ArgDef, InstructionKind};
use wharf_image::changes::{apply_instruction, exposed_ports};
use wharf_oci::config::EmptyObject;
use wharf_oci::ContainerConfig;

use crate::history::{go_healthcheck, go_list, go_quoted_list, go_set};
use crate::{BuildError, BuildResult};

/// Apply an expanded config instruction; returns its history text.
/// `cmd_set` tracks whether this stage set CMD (ENTRYPOINT clears an
/// inherited CMD, as BuildKit does).
pub fn apply(
    config: &mut ContainerConfig,
    kind: InstructionKind,
    cmd_set: &mut bool,
) -> BuildResult<String> {
    let created_by = match &kind {
        InstructionKind::Env(kvs) => format!("ENV {}", pairs(kvs)),
        InstructionKind::Label(kvs) => format!("LABEL {}", pairs(kvs)),
        InstructionKind::Expose(specs) => {
            let mut set = std::collections::BTreeMap::new();
            for s in specs {
                for p in exposed_ports(s).map_err(|e| BuildError::Invalid(e.to_string()))? {
                    set.insert(p, EmptyObject {});
                }
            }
            format!("EXPOSE {}", go_set(&set))
        }
        InstructionKind::User(u) => format!("USER {u}"),
        InstructionKind::Volume(v) => format!("VOLUME {}", go_list(v)),
        InstructionKind::StopSignal(s) => format!("STOPSIGNAL {s}"),
        InstructionKind::Shell(s) => format!("SHELL {}", go_list(s)),
        InstructionKind::OnBuild(o) => format!("ONBUILD {}", o.expression),
        InstructionKind::Maintainer(m) => format!("MAINTAINER {m}"),
        _ => String::new(),
    };
    match kind {
        InstructionKind::Maintainer(_) => {}
        InstructionKind::Cmd(_) => {
            *cmd_set = true;
            config.args_escaped = true;
            apply_instruction(config, kind)?;
            return Ok(format!(
                "CMD {}",
                go_quoted_list(config.cmd.as_deref().unwrap_or(&[]))
            ));
        }
        InstructionKind::Entrypoint(_) => {
            config.args_escaped = true;
            apply_instruction(config, kind)?;
            if !*cmd_set {
                config.cmd = None;
            }
            return Ok(format!(
                "ENTRYPOINT {}",
                go_quoted_list(config.entrypoint.as_deref().unwrap_or(&[]))
            ));
        }
        InstructionKind::Healthcheck(_) => {
            apply_instruction(config, kind)?;
            let h = config.healthcheck.clone().unwrap_or_default();
            return Ok(format!("HEALTHCHECK {}", go_healthcheck(&h)));
        }
        other => {
            if !apply_instruction(config, other)? {
                return Err(BuildError::Invalid("not a config instruction".into()));
            }
        }
    }
    Ok(created_by)
}

fn pairs(kvs: &[wharf_dockerfile::KeyValue]) -> String {
    kvs.iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ARG a=b c` as BuildKit records it.
pub fn arg_history(defs: &[ArgDef]) -> String {
    let items: Vec<String> = defs
        .iter()
        .map(|d| match &d.default {
            Some(v) => format!("{}={v}", d.name),
            None => d.name.clone(),
        })
        .collect();
    format!("ARG {}", items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_dockerfile::{parse, Lexer};

    fn run(lines: &[&str]) -> (ContainerConfig, Vec<String>) {
        let mut c = ContainerConfig {
            cmd: Some(vec!["base".into()]),
            ..Default::default()
        };
        let mut set = false;
        let mut out = Vec::new();
        let lexer = Lexer::new('\\');
        let df = parse(&format!("FROM scratch\n{}\n", lines.join("\n"))).unwrap();
        for ins in df.stages[0].instructions.clone() {
            let (e, _) = ins.expand(&lexer, &|_: &str| None).unwrap();
            out.push(apply(&mut c, e.kind, &mut set).unwrap());
        }
        (c, out)
    }

    #[test]
    fn history_texts_like_buildkit() {
        let (c, h) = run(&[
            "ENV A=1 B=\"two words\"",
            "EXPOSE 80 53/udp",
            "VOLUME /data /more",
            "SHELL [\"/bin/sh\", \"-ec\"]",
            "ENTRYPOINT [\"/bin/sh\"]",
            "CMD [\"-c\", \"echo hi\"]",
        ]);
        assert_eq!(
            h,
            [
                "ENV A=1 B=two words",
                "EXPOSE map[53/udp:{} 80/tcp:{}]",
                "VOLUME [/data /more]",
                "SHELL [/bin/sh -ec]",
                "ENTRYPOINT [\"/bin/sh\"]",
                "CMD [\"-c\" \"echo hi\"]",
            ]
        );
        assert_eq!(c.cmd, Some(vec!["-c".into(), "echo hi".into()]));
    }

    #[test]
    fn entrypoint_clears_inherited_cmd() {
        let (c, _) = run(&["ENTRYPOINT [\"/app\"]"]);
        assert_eq!(c.cmd, None);
    }
}

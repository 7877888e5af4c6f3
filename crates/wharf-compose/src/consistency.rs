//! Compose's consistency checks on the typed project: references to
//! services, networks, volumes, secrets and configs that exist, exclusive
//! keys, and no dependency cycle.

use indexmap::IndexMap;

use crate::error::{invalid, Result};
use crate::model::{Project, Service};

pub fn check(p: &Project, disabled: &IndexMap<String, Service>) -> Result<()> {
    for (name, s) in &p.services {
        if s.build.is_none() && s.image.is_empty() && s.provider.is_none() {
            return Err(invalid(format!(
                "service {name:?} has neither an image nor a build context specified: invalid compose project"
            )));
        }
        if let Some(b) = &s.build {
            if !b.dockerfile_inline.is_empty() && !b.dockerfile.is_empty() {
                return Err(invalid(format!(
                    "service {name:?} declares mutualy exclusive dockerfile and dockerfile_inline: invalid compose project"
                )));
            }
            for (add, c) in &b.additional_contexts.0 {
                if let Some(target) = c.strip_prefix("service:") {
                    match p.services.get(target) {
                        None => {
                            return Err(invalid(format!(
                                "service {name:?} declares unknown service {target:?} as additional contexts {add}"
                            )))
                        }
                        Some(t) if t.build.is_none() => {
                            return Err(invalid(format!(
                                "service {name:?} declares non-buildable service {target:?} as additional contexts {add}"
                            )))
                        }
                        _ => {}
                    }
                }
            }
        }
        if !s.network_mode.is_empty() && !s.networks.is_empty() {
            return Err(invalid(format!(
                "service {name} declares mutually exclusive `network_mode` and `networks`: invalid compose project"
            )));
        }
        for n in s.networks.keys() {
            if !p.networks.contains_key(n) {
                return Err(invalid(format!(
                    "service {name:?} refers to undefined network {n}: invalid compose project"
                )));
            }
        }
        if let Some(h) = &s.healthcheck {
            if let Some(first) = h.test.first() {
                if !matches!(first.as_str(), "CMD" | "CMD-SHELL" | "NONE") {
                    return Err(invalid(
                        "healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\"",
                    ));
                }
            }
        }
        for (dep, cfg) in &s.depends_on {
            if !p.services.contains_key(dep) {
                if disabled.contains_key(dep) && !cfg.required {
                    continue;
                }
                return Err(invalid(format!(
                    "service {name:?} depends on undefined service {dep:?}: invalid compose project"
                )));
            }
        }
        if let Some(target) = s.network_mode.strip_prefix("service:") {
            if !p.services.contains_key(target) {
                return Err(invalid(format!(
                    "service {target:?} not found for network_mode 'service:{target}'"
                )));
            }
        }
        for v in &s.volumes {
            if v.kind == "volume" && !v.source.is_empty() && !p.volumes.contains_key(&v.source) {
                return Err(invalid(format!(
                    "service {name:?} refers to undefined volume {}: invalid compose project",
                    v.source
                )));
            }
        }
        if let Some(b) = &s.build {
            for x in &b.secrets {
                if !p.secrets.contains_key(&x.source) {
                    return Err(invalid(format!(
                        "service {name:?} refers to undefined build secret {}: invalid compose project",
                        x.source
                    )));
                }
            }
        }
        for x in &s.configs {
            if !p.configs.contains_key(&x.source) {
                return Err(invalid(format!(
                    "service {name:?} refers to undefined config {}: invalid compose project",
                    x.source
                )));
            }
        }
        for x in &s.secrets {
            if !p.secrets.contains_key(&x.source) {
                return Err(invalid(format!(
                    "service {name:?} refers to undefined secret {}: invalid compose project",
                    x.source
                )));
            }
        }
        if let (Some(scale), Some(d)) = (s.scale, &s.deploy) {
            if d.replicas.is_some_and(|r| r != scale) {
                return Err(invalid(format!(
                    "services.{name}: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project"
                )));
            }
        }
        if s.scale.is_some_and(|x| x < 0) {
            return Err(invalid(format!(
                "services.{name}.scale: must be greater than or equal to 0"
            )));
        }
        if s.deploy
            .as_ref()
            .and_then(|d| d.replicas)
            .is_some_and(|x| x < 0)
        {
            return Err(invalid(format!(
                "services.{name}.deploy.replicas: must be greater than or equal to 0"
            )));
        }
        let limits = s.deploy.as_ref().and_then(|d| d.resources.limits.as_ref());
        let reservations = s
            .deploy
            .as_ref()
            .and_then(|d| d.resources.reservations.as_ref());
        if s.cpus != 0.0 && limits.is_some_and(|l| l.cpus != s.cpus) {
            return Err(invalid(format!(
                "services.{name}: can't set distinct values on 'cpus' and 'deploy.resources.limits.cpus': invalid compose project"
            )));
        }
        if s.mem_limit.0 != 0 && limits.is_some_and(|l| l.memory != s.mem_limit) {
            return Err(invalid(format!(
                "services.{name}: can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory': invalid compose project"
            )));
        }
        if s.mem_reservation.0 != 0 && reservations.is_some_and(|l| l.memory != s.mem_reservation) {
            return Err(invalid(format!(
                "services.{name}: can't set distinct values on 'mem_reservation' and 'deploy.resources.reservations.memory': invalid compose project"
            )));
        }
        if s.pids_limit != 0 && limits.is_some_and(|l| l.pids != s.pids_limit) {
            return Err(invalid(format!(
                "services.{name}: can't set distinct values on 'pids_limit' and 'deploy.resources.limits.pids': invalid compose project"
            )));
        }
        if s.replicas() > 1 && !s.container_name.is_empty() {
            let attr = if s.scale.is_some() {
                "scale"
            } else {
                "deploy.replicas"
            };
            // Compose's message swaps its two arguments; kept as printed.
            return Err(invalid(format!(
                "services.{attr}: can't set container_name and {name} as container name must be unique: invalid compose project"
            )));
        }
        let mut mounts: Vec<(String, String)> = Vec::new();
        for (i, t) in s.tmpfs.iter().enumerate() {
            let loc = format!("services.{name}.tmpfs[{i}]");
            let path = t.split(':').next().unwrap_or_default().to_string();
            if let Some((_, prev)) = mounts.iter().find(|(p, _)| *p == path) {
                return Err(invalid(format!(
                    "{loc}: target {path} already mounted as {prev}"
                )));
            }
            mounts.push((path, loc));
        }
        for (i, v) in s.volumes.iter().enumerate() {
            let loc = format!("services.{name}.volumes[{i}]");
            if let Some((_, prev)) = mounts.iter().find(|(p, _)| *p == v.target) {
                return Err(invalid(format!(
                    "{loc}: target {} already mounted as {prev}",
                    v.target
                )));
            }
            mounts.push((v.target.clone(), loc));
        }
    }
    for (name, x) in &p.secrets {
        if !x.0.external && x.0.file.is_empty() && x.0.environment.is_empty() {
            return Err(invalid(format!(
                "secret {name:?} must declare either `file` or `environment`: invalid compose project"
            )));
        }
    }
    check_cycle(p)
}

/// compose-go's cycle search: services in name order, dependencies in
/// name order, the first cycle found reported.
fn check_cycle(p: &Project) -> Result<()> {
    fn search(p: &Project, path: &mut Vec<String>) -> Result<()> {
        let Some(last) = path.last() else {
            return Ok(());
        };
        let Some(s) = p.services.get(last) else {
            return Ok(());
        };
        let children: Vec<String> = s
            .depends_on
            .keys()
            .filter(|d| p.services.contains_key(*d))
            .cloned()
            .collect();
        for c in children {
            if let Some(i) = path.iter().position(|x| *x == c) {
                return Err(invalid(format!(
                    "dependency cycle detected: {} -> {c}",
                    path[i..].join(" -> ")
                )));
            }
            path.push(c);
            search(p, path)?;
            path.pop();
        }
        Ok(())
    }
    for name in p.services.keys() {
        search(p, &mut vec![name.clone()])?;
    }
    Ok(())
}

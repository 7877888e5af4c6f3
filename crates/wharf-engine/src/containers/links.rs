//! `--link name[:alias]` (docker's legacy links, on the default bridge):
//! recorded as docker records them (`/name:/container/alias`), and at each
//! start the linked containers' addresses in /etc/hosts (`IP alias
//! hostname name`) and their ports, name and env as `ALIAS_*` variables.

use wharf_model::ContainerRecord;
use wharf_network::ports::parse_expose;
use wharf_runtime::monitor::HookError;
use wharf_store::networks;

use crate::{Engine, EngineError, EngineResult};

/// `name[:alias]` as given.
fn split(link: &str) -> (&str, &str) {
    let link = link.strip_prefix('/').unwrap_or(link);
    link.split_once(':').unwrap_or((link, link))
}

/// A recorded link, `/name:/container/alias`: (name, alias path).
fn recorded(link: &str) -> (&str, &str) {
    let (child, alias) = link.split_once(':').unwrap_or((link, link));
    (child.trim_start_matches('/'), alias)
}

/// One running linked container as a start needs it.
pub(crate) struct Linked {
    /// `/container/alias`.
    alias_path: String,
    alias: String,
    name: String,
    hostname: String,
    ip: String,
    env: Vec<String>,
    /// Exposed ports, docker's order: by number, tcp first.
    ports: Vec<(u16, String)>,
}

impl Engine {
    /// At create: the linked containers exist (docker's message when one
    /// does not).
    pub(crate) fn check_links(&self, links: &[String]) -> EngineResult<()> {
        for l in links {
            let (name, _) = split(l);
            self.find_container(name).map_err(|e| {
                EngineError::NotFound(format!("could not get container for {name}: {e}"))
            })?;
        }
        Ok(())
    }

    /// At each start: the linked containers, which must be running.
    pub(crate) fn linked(&self, rec: &ContainerRecord) -> Result<Vec<Linked>, HookError> {
        let failed = |e: EngineError| HookError::Network(Box::new(e));
        let mut out = Vec::new();
        for l in wharf_model::list(&rec.definition.host_config.links) {
            let (name, alias_path) = recorded(l);
            let child = self
                .find_container(name)
                .and_then(|c| self.refresh(c))
                .map_err(failed)?;
            let ip = self
                .store
                .read(|tx| {
                    let bridge = networks::by_name(tx, "bridge")?;
                    Ok(networks::endpoints_of(tx, &child.id)?
                        .into_iter()
                        .find(|e| bridge.as_ref().is_some_and(|b| b.id == e.network_id))
                        .and_then(|e| e.ip))
                })
                .map_err(|e| failed(e.into()))?;
            let ip = match ip {
                Some(ip) if child.state.status.is_running() => ip,
                _ => {
                    return Err(HookError::Peer(format!(
                        "Cannot link to a non running container: /{} AS {alias_path}",
                        child.name
                    )))
                }
            };
            let mut ports: Vec<(u16, String)> = child
                .definition
                .config
                .exposed_ports
                .iter()
                .flat_map(|p| p.keys())
                .filter_map(|k| parse_expose(k).ok())
                .flatten()
                .collect();
            ports.sort_by(|a, b| a.0.cmp(&b.0).then((a.1 != "tcp").cmp(&(b.1 != "tcp"))));
            ports.dedup();
            out.push(Linked {
                alias_path: alias_path.to_string(),
                alias: alias_path
                    .rsplit('/')
                    .next()
                    .unwrap_or(alias_path)
                    .to_string(),
                name: child.name.clone(),
                hostname: child.definition.config.hostname.clone(),
                ip,
                env: child.definition.config.env.clone(),
                ports,
            });
        }
        Ok(out)
    }
}

/// `HostConfig.Links` as docker records them, once the container's name
/// is known.
pub(crate) fn record_links(links: &[String], me: &str) -> Vec<String> {
    links
        .iter()
        .map(|l| {
            let (name, alias) = split(l);
            format!("/{name}:/{me}/{alias}")
        })
        .collect()
}

/// The /etc/hosts entries of `linked`: (names, address) with the names
/// `alias hostname [name]`.
pub(crate) fn hosts_entries(linked: &[Linked]) -> Vec<(String, String)> {
    linked
        .iter()
        .map(|l| {
            let mut names = format!("{} {}", l.alias, l.hostname);
            if l.alias != l.name {
                names = format!("{names} {}", l.name);
            }
            (names, l.ip.clone())
        })
        .collect()
}

/// docker's `Link.ToEnv` for each link: `ALIAS_PORT` (the first port),
/// `ALIAS_PORT_<n>_<PROTO>[_ADDR|_PORT|_PROTO]` (a run of consecutive
/// ports as `_START`/`_END`), `ALIAS_NAME`, `ALIAS_ENV_<var>` (but HOME
/// and PATH).
pub(crate) fn link_env(linked: &[Linked]) -> Vec<String> {
    let mut env = Vec::new();
    for l in linked {
        let alias = l.alias.to_uppercase().replace('-', "_");
        let ip = &l.ip;
        if let Some((port, proto)) = l.ports.first() {
            env.push(format!("{alias}_PORT={proto}://{ip}:{port}"));
        }
        let mut i = 0;
        while i < l.ports.len() {
            let (port, proto) = &l.ports[i];
            let p = format!("{alias}_PORT_{port}_{}", proto.to_uppercase());
            let mut j = i;
            while j + 1 < l.ports.len() && l.ports[j + 1].0 == l.ports[j].0 + 1 {
                j += 1;
            }
            if j > i + 1 {
                let (end, end_proto) = &l.ports[j];
                env.push(format!("{p}_START={proto}://{ip}:{port}"));
                env.push(format!("{p}_ADDR={ip}"));
                env.push(format!("{p}_PROTO={proto}"));
                env.push(format!("{p}_PORT_START={port}"));
                let q = format!("{alias}_PORT_{port}_{}", end_proto.to_uppercase());
                env.push(format!("{q}_END={end_proto}://{ip}:{end}"));
                env.push(format!("{q}_PORT_END={end}"));
                i = j + 1;
                continue;
            }
            env.push(format!("{p}={proto}://{ip}:{port}"));
            env.push(format!("{p}_ADDR={ip}"));
            env.push(format!("{p}_PORT={port}"));
            env.push(format!("{p}_PROTO={proto}"));
            i += 1;
        }
        env.push(format!("{alias}_NAME={}", l.alias_path));
        for e in &l.env {
            if let Some((k, v)) = e.split_once('=') {
                if k != "HOME" && k != "PATH" {
                    env.push(format!("{alias}_ENV_{k}={v}"));
                }
            }
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Linked {
        Linked {
            alias_path: "/me/web".into(),
            alias: "web".into(),
            name: "rf-web".into(),
            hostname: "50e2d49d2b49".into(),
            ip: "172.17.0.2".into(),
            env: vec!["FOO=bar".into(), "PATH=/bin".into()],
            ports: vec![(53, "udp".into()), (80, "tcp".into())],
        }
    }

    /// What docker 20.10 put in a container run with `--link rf-web:web`.
    #[test]
    fn env_and_hosts_as_dockers() {
        assert_eq!(
            link_env(&[web()]),
            [
                "WEB_PORT=udp://172.17.0.2:53",
                "WEB_PORT_53_UDP=udp://172.17.0.2:53",
                "WEB_PORT_53_UDP_ADDR=172.17.0.2",
                "WEB_PORT_53_UDP_PORT=53",
                "WEB_PORT_53_UDP_PROTO=udp",
                "WEB_PORT_80_TCP=tcp://172.17.0.2:80",
                "WEB_PORT_80_TCP_ADDR=172.17.0.2",
                "WEB_PORT_80_TCP_PORT=80",
                "WEB_PORT_80_TCP_PROTO=tcp",
                "WEB_NAME=/me/web",
                "WEB_ENV_FOO=bar",
            ]
        );
        assert_eq!(
            hosts_entries(&[web()]),
            [(
                "web 50e2d49d2b49 rf-web".to_string(),
                "172.17.0.2".to_string()
            )]
        );
        assert_eq!(
            record_links(&["rf-web:web".into()], "me"),
            ["/rf-web:/me/web"]
        );
        assert_eq!(
            record_links(&["rf-web".into()], "me"),
            ["/rf-web:/me/rf-web"]
        );
    }
}

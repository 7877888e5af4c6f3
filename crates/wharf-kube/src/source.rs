//! What `kube generate` reads: existing containers (as podman reads its
//! own) or a Compose project, each turned into [`Group`]s of [`App`]s. The
//! container settings come through the same shapes in both cases
//! (Docker's exposed ports and port map, health config, resources), so
//! one set of conversions serves both.

use std::collections::BTreeMap;

use wharf_compose::model::Service;
use wharf_compose::run::{
    image_name, service_healthcheck, service_ports, service_resources, service_restart_policy,
};
use wharf_compose::Loaded;
use wharf_engine::Engine;
use wharf_model::{ContainerRecord, PortMap};
use wharf_oci::ContainerConfig;

use crate::error::{KubeError, KubeResult};
use crate::generate::{dns_label, App, Group, MountSource, MountSpec, PortSpec};

/// Docker's exposed ports and bindings (`80/tcp` → host addresses) as
/// container ports: one per binding, one for a port only exposed.
fn port_specs<'a>(exposed: impl Iterator<Item = &'a String>, bindings: &PortMap) -> Vec<PortSpec> {
    let split = |key: &str| -> Option<(u16, String)> {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let port: u16 = port.split('-').next()?.parse().ok()?;
        Some((port, proto.to_uppercase()))
    };
    let mut out = Vec::new();
    for (key, list) in bindings {
        let Some((port, protocol)) = split(key) else {
            continue;
        };
        for b in list.iter().flatten() {
            // A range (`8000-8002`) publishes its first port here.
            let host_port = b
                .host_port
                .split('-')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|p| *p != 0);
            let host_ip = match b.host_ip.as_str() {
                "0.0.0.0" | "::" => String::new(),
                ip => ip.to_string(),
            };
            out.push(PortSpec {
                container_port: port,
                host_port,
                host_ip,
                protocol: protocol.clone(),
            });
        }
    }
    for key in exposed {
        if let Some((port, protocol)) = split(key) {
            if !out
                .iter()
                .any(|p| p.container_port == port && p.protocol == protocol)
            {
                out.push(PortSpec {
                    container_port: port,
                    host_port: None,
                    host_ip: String::new(),
                    protocol,
                });
            }
        }
    }
    out.sort();
    out
}

/// The image's own config (what a container or service need not repeat).
fn image_config(engine: &Engine, image: &str) -> ContainerConfig {
    engine
        .resolve_image(image)
        .and_then(|id| engine.image_config(&id))
        .ok()
        .and_then(|c| c.config)
        .unwrap_or_default()
}

fn env_pairs(env: &[String]) -> Vec<(String, String)> {
    env.iter()
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// `kube generate CONTAINER...`: one group (podman's one pod) holding
/// every container named, called after the first (`NAME-pod`).
pub fn from_containers(engine: &Engine, names: &[String]) -> KubeResult<Group> {
    let mut apps = Vec::new();
    for n in names {
        let rec = engine.find_container(n)?;
        apps.push(container_app(engine, &rec));
    }
    let first = apps.first().map(|a| a.name.clone()).unwrap_or_default();
    let pod = format!("{}-pod", dns_label(&first));
    Ok(Group {
        deployment: format!("{pod}-deployment"),
        name: pod,
        replicas: 1,
        apps,
    })
}

fn container_app(engine: &Engine, rec: &ContainerRecord) -> App {
    let d = &rec.definition;
    let c = &d.config;
    let h = &d.host_config;
    let image = engine
        .image_config(&rec.image_id)
        .ok()
        .and_then(|i| i.config)
        .unwrap_or_default();
    // Only what differs from the image: the image brings the rest.
    let image_env = env_pairs(&image.env);
    let env = env_pairs(&c.env)
        .into_iter()
        .filter(|kv| !image_env.contains(kv))
        .collect();
    let (command, args) = if c.entrypoint != image.entrypoint {
        (c.entrypoint.clone(), c.cmd.clone())
    } else if c.cmd != image.cmd {
        (None, c.cmd.clone())
    } else {
        (None, None)
    };
    let mut mounts: Vec<MountSpec> = d
        .mounts
        .iter()
        .filter_map(|m| {
            let source = match m.kind.as_str() {
                "volume" if is_anonymous(&m.name) => MountSource::Anonymous,
                "volume" => MountSource::Volume(m.name.clone()),
                "bind" => MountSource::Bind(m.source.clone()),
                "tmpfs" => MountSource::Tmpfs,
                _ => return None,
            };
            Some(MountSpec {
                source,
                target: m.destination.clone(),
                read_only: !m.rw,
            })
        })
        .collect();
    for target in h.tmpfs.iter().flatten().map(|(t, _)| t) {
        if !mounts.iter().any(|m| &m.target == target) {
            mounts.push(MountSpec {
                source: MountSource::Tmpfs,
                target: target.clone(),
                read_only: false,
            });
        }
    }
    let empty = PortMap::new();
    let exposed = c.exposed_ports.iter().flatten().map(|(k, _)| k);
    App {
        name: rec.name.trim_start_matches('/').to_string(),
        image: c.image.clone(),
        command,
        args,
        working_dir: if c.working_dir != image.working_dir {
            c.working_dir.clone()
        } else {
            String::new()
        },
        env,
        env_files: Vec::new(),
        ports: port_specs(exposed, h.port_bindings.as_ref().unwrap_or(&empty)),
        mounts,
        health: c.healthcheck.clone(),
        memory: h.resources.memory,
        memory_reservation: h.resources.memory_reservation,
        nano_cpus: h.resources.nano_cpus,
        restart: h.restart_policy.name().to_string(),
        privileged: h.privileged,
        read_only: h.readonly_rootfs,
        cap_add: h.cap_add.clone().unwrap_or_default(),
        cap_drop: h.cap_drop.clone().unwrap_or_default(),
        user: if c.user != image.user {
            c.user.clone()
        } else {
            String::new()
        },
        tty: c.tty,
        stdin: c.open_stdin,
    }
}

/// Anonymous volumes are named by 64 hex digits.
fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `kube generate --compose`: a group per service (named after it, so
/// the Service keeps the host name the other services use), its scale as
/// replicas, its env files as ConfigMaps.
pub fn from_compose(engine: &Engine, loaded: &Loaded) -> KubeResult<Vec<Group>> {
    let p = &loaded.project;
    let mut groups = Vec::new();
    for (name, s) in &p.services {
        let app = service_app(engine, loaded, name, s)?;
        groups.push(Group {
            name: dns_label(name),
            deployment: dns_label(name),
            replicas: s.replicas().max(0) as u32,
            apps: vec![app],
        });
    }
    Ok(groups)
}

fn service_app(engine: &Engine, loaded: &Loaded, name: &str, s: &Service) -> KubeResult<App> {
    let p = &loaded.project;
    let image_ref = image_name(&p.name, name, s);
    let image = image_config(engine, &image_ref);
    let files = loaded.env_files_read.get(name).cloned().unwrap_or_default();
    // What the files give, last file winning, as the merge did.
    let mut from_files: BTreeMap<&str, &str> = BTreeMap::new();
    for f in &files {
        for (k, v) in &f.vars {
            from_files.insert(k, v);
        }
    }
    // The service's own values (and those that differ from the files):
    // `env` wins over `envFrom` in Kubernetes too.
    let env = s
        .environment
        .0
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .filter(|(k, v)| from_files.get(k.as_str()) != Some(&v.as_str()))
        .collect();
    let (exposed, bindings) = service_ports(s);
    let exposed_keys: Vec<String> = exposed
        .keys()
        .cloned()
        .chain(image.exposed_ports.iter().flatten().map(|(k, _)| k.clone()))
        .collect();
    let mut mounts = Vec::new();
    for v in &s.volumes {
        let source = match v.kind.as_str() {
            "volume" if v.source.is_empty() => MountSource::Anonymous,
            "volume" => MountSource::Volume(
                p.volumes
                    .get(&v.source)
                    .map(|vol| vol.name.clone())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| v.source.clone()),
            ),
            "bind" => MountSource::Bind(v.source.clone()),
            "tmpfs" => MountSource::Tmpfs,
            _ => continue,
        };
        mounts.push(MountSpec {
            source,
            target: v.target.clone(),
            read_only: v.read_only,
        });
    }
    for t in &s.tmpfs {
        let target = t.split(':').next().unwrap_or(t).to_string();
        mounts.push(MountSpec {
            source: MountSource::Tmpfs,
            target,
            read_only: false,
        });
    }
    let r = service_resources(s);
    let restart = service_restart_policy(s)
        .map_err(|e| KubeError::invalid(format!("service {name:?}"), e.to_string()))?;
    Ok(App {
        name: name.to_string(),
        image: image_ref,
        command: s.entrypoint.clone(),
        args: s.command.clone(),
        working_dir: s.working_dir.clone(),
        env,
        env_files: files.into_iter().map(|f| (f.path, f.vars)).collect(),
        ports: port_specs(exposed_keys.iter(), &bindings),
        mounts,
        health: service_healthcheck(s).filter(|h| h.test.is_some()),
        memory: r.memory,
        memory_reservation: r.memory_reservation,
        nano_cpus: r.nano_cpus,
        restart: restart.name().to_string(),
        privileged: s.privileged,
        read_only: s.read_only,
        cap_add: s.cap_add.clone(),
        cap_drop: s.cap_drop.clone(),
        user: s.user.clone(),
        tty: s.tty,
        stdin: s.stdin_open,
    })
}

//! A service's container as the engine creates it: Docker's `Config`,
//! `HostConfig` and `NetworkingConfig`, filled from the normalized service
//! as Docker Compose fills them (`getCreateConfigs`): labels, environment,
//! ports, volumes as binds where the bind API suffices and mounts
//! otherwise, secrets and configs as read-only binds, resources, the
//! network mode and one endpoint per network with the service's aliases.

use std::collections::BTreeMap;

use wharf_engine::containers::CreateRequest;
use wharf_model::{
    BindOptions, Config, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig, LogConfig,
    Mount, NetworkingConfig, PortBinding, Resources, RestartPolicy, TmpfsOptions, Ulimit,
    VolumeOptions,
};

use super::error::{invalid, RunResult};
use crate::model::{Project, Service, ServiceVolume};

/// What a container is made with besides its service: its name, its labels, and the containers `service:` references resolve to.
pub(crate) struct Instance<'a> {
    pub name: &'a str,
    pub labels: BTreeMap<String, String>,
    /// Service aliases on the networks (not for `run` without
    /// `--use-aliases`).
    pub use_aliases: bool,
    /// `links` and `external_links` as `container:alias` (`getLinks`).
    pub links: Vec<String>,
    /// `service:NAME` (network_mode, ipc, pid, volumes_from) → a
    /// container ID of that service.
    pub resolve: &'a dyn Fn(&str) -> RunResult<String>,
}

/// The image a service runs: its `image`, else `PROJECT-SERVICE` (what
/// `build` tags).
pub fn image_name(project: &str, service_name: &str, s: &Service) -> String {
    if s.image.is_empty() {
        format!("{project}-{service_name}")
    } else {
        s.image.clone()
    }
}

/// The service's networks, highest priority first, then by name.
pub(crate) fn networks_by_priority(s: &Service) -> Vec<&str> {
    let mut keys: Vec<(&str, i32)> = s
        .networks
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_ref().map(|n| n.priority).unwrap_or(0)))
        .collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    keys.into_iter().map(|(k, _)| k).collect()
}

fn some_if<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn nanos(d: &Option<crate::model::Duration>) -> i64 {
    d.map(|d| d.0).unwrap_or(0)
}

pub fn healthcheck(s: &Service) -> Option<HealthConfig> {
    let h = s.healthcheck.as_ref()?;
    let test = if h.disable {
        vec!["NONE".to_string()]
    } else {
        h.test.clone()
    };
    Some(HealthConfig {
        test: (!test.is_empty()).then_some(test),
        interval: nanos(&h.interval),
        timeout: nanos(&h.timeout),
        start_period: nanos(&h.start_period),
        start_interval: nanos(&h.start_interval),
        retries: h.retries.map(|r| r as i64).unwrap_or(0),
    })
}

pub fn restart_policy(s: &Service) -> RunResult<RestartPolicy> {
    let parse = |name: &str, attempts: u64| -> RunResult<RestartPolicy> {
        Ok(match name {
            "" | "no" | "none" => RestartPolicy::No,
            "always" | "any" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure(attempts as u32),
            other => return Err(invalid(format!("invalid restart policy '{other}'"))),
        })
    };
    if let Some(p) = s.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) {
        return parse(&p.condition, p.max_attempts.unwrap_or(0));
    }
    let (name, attempts) = s.restart.split_once(':').unwrap_or((&s.restart, ""));
    parse(name, attempts.parse().unwrap_or(0))
}

pub fn resources(s: &Service) -> Resources {
    let mut r = Resources {
        cgroup_parent: s.cgroup_parent.clone(),
        memory: s.mem_limit.0,
        memory_swap: s.memswap_limit.0,
        memory_swappiness: (s.mem_swappiness.0 != 0).then_some(s.mem_swappiness.0),
        memory_reservation: s.mem_reservation.0,
        oom_kill_disable: Some(s.oom_kill_disable),
        cpu_count: s.cpu_count,
        cpu_period: s.cpu_period,
        cpu_quota: s.cpu_quota,
        cpu_realtime_period: s.cpu_rt_period,
        cpu_realtime_runtime: s.cpu_rt_runtime,
        cpu_shares: s.cpu_shares,
        nano_cpus: (f64::from(s.cpus) * 1e9) as i64,
        cpu_percent: (f64::from(s.cpu_percent) * 100.0) as i64,
        cpuset_cpus: s.cpuset.clone(),
        device_cgroup_rules: some_if(s.device_cgroup_rules.clone()),
        pids_limit: (s.pids_limit != 0).then_some(s.pids_limit),
        ..Default::default()
    };
    if let Some(res) = s.deploy.as_ref().map(|d| &d.resources) {
        if let Some(l) = &res.limits {
            if l.memory.0 != 0 {
                r.memory = l.memory.0;
            }
            if l.cpus != 0.0 {
                r.nano_cpus = (f64::from(l.cpus) * 1e9) as i64;
            }
            if l.pids > 0 {
                r.pids_limit = Some(l.pids);
            }
        }
        if let Some(v) = &res.reservations {
            if v.memory.0 != 0 {
                r.memory_reservation = v.memory.0;
            }
        }
    }
    let ulimits: Vec<Ulimit> = s
        .ulimits
        .iter()
        .map(|(name, u)| Ulimit {
            name: name.clone(),
            soft: if u.soft != 0 { u.soft } else { u.single },
            hard: if u.hard != 0 { u.hard } else { u.single },
        })
        .collect();
    r.ulimits = some_if(ulimits);
    r
}

/// `ports` and `expose` as `ExposedPorts` and `PortBindings`.
pub fn ports(
    s: &Service,
) -> (
    BTreeMap<String, wharf_oci::config::EmptyObject>,
    wharf_model::PortMap,
) {
    let mut exposed = BTreeMap::new();
    // As given (`9000`, `9000/udp`): docker keeps what Compose sends.
    for e in &s.expose {
        exposed.insert(e.clone(), Default::default());
    }
    let mut bindings: wharf_model::PortMap = BTreeMap::new();
    for p in &s.ports {
        let proto = if p.protocol.is_empty() {
            "tcp"
        } else {
            &p.protocol
        };
        let key = format!("{}/{proto}", p.target);
        exposed.insert(key.clone(), Default::default());
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: p.published.clone(),
            });
    }
    (exposed, bindings)
}

/// Docker's `name:target:rw[,options]` bind string.
fn bind_string(source: &str, v: &ServiceVolume) -> String {
    let mut options = vec![if v.read_only { "ro" } else { "rw" }.to_string()];
    if let Some(b) = &v.bind {
        if !b.selinux.is_empty() {
            options.push(b.selinux.clone());
        }
        if !b.propagation.is_empty() {
            options.push(b.propagation.clone());
        }
    }
    if v.volume.as_ref().is_some_and(|x| x.nocopy) {
        options.push("nocopy".into());
    }
    format!("{source}:{}:{}", v.target, options.join(","))
}

/// `volumes`, `secrets` and `configs` as docker's `Binds` and `Mounts`:
/// the old bind API where it can say it all (it creates a missing bind
/// source), the mount API for the rest, as Compose chooses.
fn volumes(p: &Project, name: &str, s: &Service) -> RunResult<(Vec<String>, Vec<Mount>)> {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for v in &s.volumes {
        match v.kind.as_str() {
            "bind" => {
                let needs_mount_api = v.bind.as_ref().is_some_and(|b| {
                    !b.create_host_path || !b.propagation.is_empty() || !b.recursive.is_empty()
                });
                if !needs_mount_api {
                    binds.push(bind_string(&v.source, v));
                    continue;
                }
                let b = v.bind.as_ref();
                mounts.push(Mount {
                    kind: "bind".into(),
                    source: v.source.clone(),
                    target: v.target.clone(),
                    read_only: v.read_only,
                    consistency: v.consistency.clone(),
                    bind_options: b.map(|b| BindOptions {
                        propagation: b.propagation.clone(),
                        non_recursive: b.recursive == "disabled",
                    }),
                    ..Default::default()
                });
            }
            "volume" => {
                let declared = (!v.source.is_empty())
                    .then(|| p.volumes.get(&v.source))
                    .flatten();
                let source = declared
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| v.source.clone());
                let advanced = v
                    .volume
                    .as_ref()
                    .is_some_and(|o| !o.labels.is_empty() || !o.subpath.is_empty() || o.nocopy);
                if declared.is_some() && !advanced {
                    binds.push(bind_string(&source, v));
                    continue;
                }
                if v.volume.as_ref().is_some_and(|o| !o.subpath.is_empty()) {
                    return Err(invalid(format!(
                        "services.{name}.volumes: subpath is not supported"
                    )));
                }
                mounts.push(Mount {
                    kind: "volume".into(),
                    source,
                    target: v.target.clone(),
                    read_only: v.read_only,
                    consistency: v.consistency.clone(),
                    volume_options: v.volume.as_ref().map(|o| VolumeOptions {
                        no_copy: o.nocopy,
                        labels: o.labels.0.clone(),
                        driver_config: None,
                    }),
                    ..Default::default()
                });
            }
            "tmpfs" => mounts.push(Mount {
                kind: "tmpfs".into(),
                target: v.target.clone(),
                read_only: v.read_only,
                tmpfs_options: v.tmpfs.as_ref().map(|t| TmpfsOptions {
                    size_bytes: t.size.0,
                    mode: t.mode as u32,
                }),
                ..Default::default()
            }),
            other => {
                return Err(invalid(format!(
                    "services.{name}.volumes: volumes of type {other:?} are not supported"
                )))
            }
        }
    }
    // Secrets and configs from files: read-only binds (Compose without swarm).
    let file_mounts = s
        .secrets
        .iter()
        .map(|r| {
            (
                r,
                p.secrets.get(&r.source).map(|x| &x.0),
                "/run/secrets/",
                "secret",
            )
        })
        .chain(
            s.configs
                .iter()
                .map(|r| (r, p.configs.get(&r.source).map(|x| &x.0), "/", "config")),
        );
    for (r, def, base, what) in file_mounts {
        let Some(def) = def else {
            continue;
        };
        if def.external {
            return Err(invalid(format!("unsupported external {what} {}", def.name)));
        }
        if !def.environment.is_empty() || !def.content.is_empty() || def.file.is_empty() {
            continue;
        }
        let target = if r.target.is_empty() {
            format!("{base}{}", r.source)
        } else if r.target.starts_with('/') {
            r.target.clone()
        } else {
            format!("{base}{}", r.target)
        };
        if mounts.iter().any(|m| m.target == target) || s.volumes.iter().any(|v| v.target == target)
        {
            continue;
        }
        mounts.push(Mount {
            kind: "bind".into(),
            source: def.file.clone(),
            target,
            read_only: true,
            bind_options: Some(BindOptions::default()),
            ..Default::default()
        });
    }
    Ok((binds, mounts))
}

/// `service:NAME` → `container:ID` (namespaces shared with a service).
fn namespace_mode(mode: &str, resolve: &dyn Fn(&str) -> RunResult<String>) -> RunResult<String> {
    match mode.strip_prefix("service:") {
        Some(svc) => Ok(format!("container:{}", resolve(svc)?)),
        None => Ok(mode.to_string()),
    }
}

/// The engine's request for container `inst` of service `name`.
pub(crate) fn create_request(
    p: &Project,
    name: &str,
    s: &Service,
    inst: &Instance,
) -> RunResult<CreateRequest> {
    let (exposed, bindings) = ports(s);
    let env: Vec<String> = s
        .environment
        .0
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    let config = Config {
        hostname: s.hostname.clone(),
        domainname: s.domainname.clone(),
        user: s.user.clone(),
        attach_stdout: true,
        attach_stderr: true,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: s.tty,
        open_stdin: s.stdin_open,
        env,
        cmd: s.command.clone(),
        healthcheck: healthcheck(s),
        image: image_name(&p.name, name, s),
        working_dir: s.working_dir.clone(),
        entrypoint: s.entrypoint.clone(),
        network_disabled: s.network_mode == "disabled",
        labels: Some(inst.labels.clone()),
        stop_signal: s.stop_signal.clone(),
        stop_timeout: s.stop_grace_period.map(|d| d.0 / 1_000_000_000),
        ..Default::default()
    };
    let (binds, mounts) = volumes(p, name, s)?;
    let tmpfs: BTreeMap<String, String> = s
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((d, o)) => (d.to_string(), o.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect();
    let mut volumes_from = Vec::new();
    for v in &s.volumes_from {
        let (what, rest) = v.split_once(':').unwrap_or((v, ""));
        volumes_from.push(match what {
            "container" => rest.to_string(),
            svc => {
                let id = (inst.resolve)(svc)?;
                if rest.is_empty() {
                    id
                } else {
                    format!("{id}:{rest}")
                }
            }
        });
    }
    let extra_hosts: Vec<String> = s
        .extra_hosts
        .iter()
        .flat_map(|h| h.0.iter())
        .flat_map(|(host, ips)| ips.iter().map(move |ip| format!("{host}:{ip}")))
        .collect();
    let (network_mode, networking_config) = networking(p, name, s, inst)?;
    let host_config = HostConfig {
        binds: some_if(binds),
        mounts: some_if(mounts),
        cap_add: some_if(s.cap_add.clone()),
        cap_drop: some_if(s.cap_drop.clone()),
        network_mode,
        init: s.init,
        ipc_mode: namespace_mode(&s.ipc, inst.resolve)?,
        pid_mode: namespace_mode(&s.pid, inst.resolve)?,
        cgroupns_mode: s.cgroup.clone(),
        readonly_rootfs: s.read_only,
        restart_policy: restart_policy(s)?,
        shm_size: s.shm_size.0,
        sysctls: (!s.sysctls.is_empty()).then(|| s.sysctls.0.clone()),
        port_bindings: Some(bindings),
        resources: resources(s),
        volume_driver: s.volume_driver.clone(),
        volumes_from: some_if(volumes_from),
        dns: some_if(s.dns.clone()),
        dns_search: some_if(s.dns_search.clone()),
        dns_options: some_if(s.dns_opt.clone()),
        extra_hosts: Some(extra_hosts),
        security_opt: some_if(s.security_opt.clone()),
        storage_opt: (!s.storage_opt.is_empty()).then(|| s.storage_opt.0.clone()),
        userns_mode: s.userns_mode.clone(),
        uts_mode: s.uts.clone(),
        privileged: s.privileged,
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        isolation: s.isolation.clone(),
        runtime: s.runtime.clone(),
        log_config: s
            .logging
            .as_ref()
            .map(|l| LogConfig {
                kind: l.driver.clone(),
                config: l.options.0.clone(),
            })
            .unwrap_or_default(),
        group_add: some_if(s.group_add.clone()),
        links: some_if(inst.links.clone()),
        oom_score_adj: s.oom_score_adj,
        ..Default::default()
    };
    Ok(CreateRequest {
        name: Some(inst.name.to_string()),
        config,
        host_config,
        networking_config,
    })
}

/// The network mode and one endpoint per project network of the service,
/// named as the engine knows them, with the container's aliases.
fn networking(
    p: &Project,
    name: &str,
    s: &Service,
    inst: &Instance,
) -> RunResult<(String, NetworkingConfig)> {
    if !s.network_mode.is_empty() {
        return Ok((
            namespace_mode(&s.network_mode, inst.resolve)?,
            NetworkingConfig::default(),
        ));
    }
    if p.networks.is_empty() {
        return Ok(("none".into(), NetworkingConfig::default()));
    }
    let order = networks_by_priority(s);
    let mut cfg = NetworkingConfig::default();
    let mut primary = String::new();
    for (i, key) in order.iter().enumerate() {
        let Some(net) = p.networks.get(*key) else {
            return Err(invalid(format!(
                "service {name:?} refers to undefined network {key}: invalid compose project"
            )));
        };
        let sn = s.networks.get(*key).and_then(Option::as_ref);
        let mut aliases = vec![inst.name.to_string()];
        if inst.use_aliases {
            aliases.push(name.to_string());
            if let Some(sn) = sn {
                aliases.extend(sn.aliases.iter().cloned());
            }
        }
        let endpoint = EndpointSettings {
            aliases: Some(aliases),
            links: some_if(inst.links.clone()),
            ipam_config: sn.map(|sn| EndpointIpamConfig {
                ipv4_address: sn.ipv4_address.clone(),
                ipv6_address: sn.ipv6_address.clone(),
                link_local_ips: some_if(sn.link_local_ips.clone()),
            }),
            mac_address: sn.map(|sn| sn.mac_address.clone()).unwrap_or_default(),
            ..Default::default()
        };
        if i == 0 {
            primary = net.name.clone();
        }
        cfg.endpoints_config.insert(net.name.clone(), endpoint);
    }
    Ok((primary, cfg))
}

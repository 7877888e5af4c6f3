//! `kube generate`: workloads described neutrally ([`Group`]s of
//! [`App`]s, filled from containers or a Compose project by
//! [`crate::source`]) to Kubernetes objects, as podman's
//! `kube generate` maps them: a Deployment (or a Pod) per group, a Service
//! for its ports, a PersistentVolumeClaim per named volume, hostPath for
//! binds, emptyDir for anonymous volumes and tmpfs, a ConfigMap per env
//! file, a liveness probe from the health check, resources from limits.

use std::collections::{BTreeMap, BTreeSet};

use crate::objects::{
    Capabilities, ConfigMap, Container, ContainerPort, Deployment, DeploymentSpec, EmptyDirSource,
    EnvFromSource, EnvVar, ExecAction, HostPathSource, IntOrString, LabelSelector, LocalRef,
    Object, ObjectMeta, PersistentVolumeClaim, Pod, PodSpec, PodTemplate, Probe, PvcSource,
    PvcSpec, Quantity, ResourceRequirements, SecurityContext, Service, ServicePort, ServiceSpec,
    Volume, VolumeMount,
};

/// `--type`: what each group becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkloadKind {
    #[default]
    Deployment,
    Pod,
}

/// Containers that run together (one pod), with the names their objects
/// take.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// The pod's name, its `app` label and its Service's name.
    pub name: String,
    /// The Deployment's name.
    pub deployment: String,
    pub replicas: u32,
    pub apps: Vec<App>,
}

/// One container as `kube generate` sees it.
#[derive(Debug, Clone, Default)]
pub struct App {
    pub name: String,
    pub image: String,
    /// Kubernetes' `command` (the entrypoint) and `args` (the command).
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub working_dir: String,
    pub env: Vec<(String, String)>,
    /// Env files: a name (the file's path) and its variables.
    pub env_files: Vec<(String, Vec<(String, String)>)>,
    pub ports: Vec<PortSpec>,
    pub mounts: Vec<MountSpec>,
    pub health: Option<wharf_oci::HealthConfig>,
    /// Bytes; 0: none.
    pub memory: i64,
    pub memory_reservation: i64,
    /// Billionths of a CPU; 0: none.
    pub nano_cpus: i64,
    /// Docker's restart policy name (`no`, `always`, `on-failure`...).
    pub restart: String,
    pub privileged: bool,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub user: String,
    pub tty: bool,
    pub stdin: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortSpec {
    pub container_port: u16,
    /// `None`: exposed only.
    pub host_port: Option<u16>,
    /// Empty: all addresses.
    pub host_ip: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A named volume (its engine name).
    Volume(String),
    /// An anonymous volume.
    Anonymous,
    Bind(String),
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

/// A name Kubernetes accepts (RFC 1123 label: lowercase letters, digits
/// and `-`, at most 63, alphanumeric at both ends): `my_app-Data` →
/// `my-app-data`.
pub fn dns_label(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    out.truncate(63);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "x".to_string()
    } else {
        out
    }
}

/// Podman's name for a bind's volume: the path's components joined by
/// `-`, then `-host` (`/` is `root-host`).
fn host_volume_name(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    let base = if trimmed.is_empty() { "root" } else { trimmed };
    let mut name = dns_label(base);
    name.truncate(58);
    format!("{}-host", name.trim_end_matches('-'))
}

/// Whole seconds, at least 1 (the API's minimum); `None` for unset.
fn seconds(nanos: i64) -> Option<i64> {
    (nanos > 0).then(|| ((nanos + 999_999_999) / 1_000_000_000).max(1))
}

/// A health check as a liveness probe; `None` for `NONE` or no test.
fn probe(h: &wharf_oci::HealthConfig) -> Option<Probe> {
    let test = h.test.as_ref()?;
    let command = match test.first().map(String::as_str) {
        Some("CMD") => test[1..].to_vec(),
        Some("CMD-SHELL") => vec!["/bin/sh".to_string(), "-c".to_string(), test[1..].join(" ")],
        _ => return None,
    };
    if command.is_empty() {
        return None;
    }
    Some(Probe {
        exec: Some(ExecAction { command }),
        period_seconds: seconds(h.interval),
        timeout_seconds: seconds(h.timeout),
        initial_delay_seconds: seconds(h.start_period),
        failure_threshold: (h.retries > 0).then_some(h.retries),
        ..Default::default()
    })
}

/// CPUs in millicores (`500m`), or whole when exact.
fn cpu_quantity(nano: i64) -> Quantity {
    let milli = (nano + 999_999) / 1_000_000;
    if milli % 1000 == 0 {
        Quantity::Number((milli / 1000).into())
    } else {
        Quantity::Text(format!("{milli}m"))
    }
}

fn resources(a: &App) -> Option<ResourceRequirements> {
    let mut r = ResourceRequirements::default();
    if a.memory > 0 {
        r.limits
            .insert("memory".into(), Quantity::Number(a.memory.into()));
    }
    if a.nano_cpus > 0 {
        r.limits.insert("cpu".into(), cpu_quantity(a.nano_cpus));
    }
    if a.memory_reservation > 0 {
        r.requests.insert(
            "memory".into(),
            Quantity::Number(a.memory_reservation.into()),
        );
    }
    (!r.limits.is_empty() || !r.requests.is_empty()).then_some(r)
}

fn security(a: &App) -> Option<SecurityContext> {
    let mut s = SecurityContext::default();
    if a.privileged {
        s.privileged = Some(true);
    }
    if a.read_only {
        s.read_only_root_filesystem = Some(true);
    }
    if !a.cap_add.is_empty() || !a.cap_drop.is_empty() {
        let strip = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|c| c.trim_start_matches("CAP_").to_uppercase())
                .collect()
        };
        s.capabilities = Some(Capabilities {
            add: strip(&a.cap_add),
            drop: strip(&a.cap_drop),
        });
    }
    // Kubernetes takes numeric IDs only; a user name stays in the image.
    let (u, g) = a.user.split_once(':').unwrap_or((&a.user, ""));
    if let Ok(u) = u.parse::<i64>() {
        s.run_as_user = Some(u);
        if let Ok(g) = g.parse::<i64>() {
            s.run_as_group = Some(g);
        }
    }
    (s != SecurityContext::default()).then_some(s)
}

/// The objects for `groups`, in the order `kubectl apply` wants them:
/// claims and config maps first, then the workloads, then Services.
pub fn manifests(groups: &[Group], kind: WorkloadKind) -> Vec<Object> {
    let mut claims: BTreeSet<String> = BTreeSet::new();
    let mut config_maps: Vec<Object> = Vec::new();
    let mut workloads: Vec<Object> = Vec::new();
    let mut services: Vec<Object> = Vec::new();
    let mut cm_names: BTreeSet<String> = BTreeSet::new();
    for g in groups {
        let mut volumes: Vec<Volume> = Vec::new();
        let mut containers = Vec::new();
        let mut svc_ports: Vec<ServicePort> = Vec::new();
        let mut published = false;
        for a in &g.apps {
            let mut c = Container {
                name: dns_label(&a.name),
                image: a.image.clone(),
                command: a.command.clone(),
                args: a.args.clone(),
                working_dir: (!a.working_dir.is_empty()).then(|| a.working_dir.clone()),
                env: a
                    .env
                    .iter()
                    .map(|(k, v)| EnvVar {
                        name: k.clone(),
                        value: Some(v.clone()),
                        value_from: None,
                    })
                    .collect(),
                resources: resources(a),
                liveness_probe: a.health.as_ref().and_then(probe),
                security_context: security(a),
                tty: a.tty.then_some(true),
                stdin: a.stdin.then_some(true),
                ..Default::default()
            };
            for (i, (path, vars)) in a.env_files.iter().enumerate() {
                let mut name = format!("{}-env", dns_label(&a.name));
                if i > 0 {
                    name = format!("{name}-{}", i + 1);
                }
                while !cm_names.insert(name.clone()) {
                    name.push_str("-x");
                }
                let mut cm = ConfigMap {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    metadata: ObjectMeta::named(&name),
                    ..Default::default()
                };
                cm.metadata
                    .annotations
                    .insert("io.wharf.kube.env-file".into(), path.clone());
                cm.data = vars.iter().cloned().collect();
                config_maps.push(Object::ConfigMap(cm));
                c.env_from.push(EnvFromSource {
                    config_map_ref: Some(LocalRef {
                        name,
                        optional: Some(false),
                    }),
                    ..Default::default()
                });
            }
            let mut seen_ports = BTreeSet::new();
            for p in &a.ports {
                if !seen_ports.insert((p.container_port, p.host_port, p.protocol.clone())) {
                    continue;
                }
                c.ports.push(ContainerPort {
                    container_port: p.container_port.into(),
                    host_port: p.host_port.map(i64::from),
                    host_ip: (!p.host_ip.is_empty() && p.host_port.is_some())
                        .then(|| p.host_ip.clone()),
                    protocol: Some(p.protocol.clone()),
                    name: None,
                });
                published |= p.host_port.is_some();
                let port = i64::from(p.host_port.unwrap_or(p.container_port));
                let proto = p.protocol.to_lowercase();
                if !svc_ports
                    .iter()
                    .any(|s| s.port == port && s.protocol.as_deref() == Some(&p.protocol))
                {
                    svc_ports.push(ServicePort {
                        name: Some(format!("{port}-{proto}")),
                        protocol: Some(p.protocol.clone()),
                        port,
                        target_port: Some(IntOrString::Int(p.container_port.into())),
                        node_port: None,
                    });
                }
            }
            for m in &a.mounts {
                let (vol_name, volume) = match &m.source {
                    MountSource::Volume(v) => {
                        let claim = dns_label(v);
                        claims.insert(claim.clone());
                        let name = format!("{claim}-pvc");
                        (
                            name.clone(),
                            Volume {
                                name,
                                persistent_volume_claim: Some(PvcSource {
                                    claim_name: claim,
                                    read_only: None,
                                }),
                                ..Default::default()
                            },
                        )
                    }
                    MountSource::Bind(path) => {
                        let name = host_volume_name(path);
                        let kind = match std::fs::metadata(path) {
                            Ok(md) if md.is_dir() => "Directory",
                            Ok(_) => "File",
                            Err(_) => "DirectoryOrCreate",
                        };
                        (
                            name.clone(),
                            Volume {
                                name,
                                host_path: Some(HostPathSource {
                                    path: path.clone(),
                                    kind: Some(kind.into()),
                                }),
                                ..Default::default()
                            },
                        )
                    }
                    MountSource::Anonymous | MountSource::Tmpfs => {
                        let name = format!("{}-empty", dns_label(&m.target));
                        let medium = (m.source == MountSource::Tmpfs).then(|| "Memory".into());
                        (
                            name.clone(),
                            Volume {
                                name,
                                empty_dir: Some(EmptyDirSource {
                                    medium,
                                    size_limit: None,
                                }),
                                ..Default::default()
                            },
                        )
                    }
                };
                if !volumes.iter().any(|v| v.name == vol_name) {
                    volumes.push(volume);
                }
                c.volume_mounts.push(VolumeMount {
                    name: vol_name,
                    mount_path: m.target.clone(),
                    read_only: m.read_only.then_some(true),
                    sub_path: None,
                    mount_propagation: None,
                });
            }
            containers.push(c);
        }
        let labels: BTreeMap<String, String> = [("app".to_string(), g.name.clone())].into();
        let restart = g.apps.first().map(|a| a.restart.as_str()).unwrap_or("");
        let mut spec = PodSpec {
            containers,
            volumes,
            ..Default::default()
        };
        match kind {
            WorkloadKind::Pod => {
                spec.restart_policy = Some(
                    match restart {
                        "always" | "unless-stopped" => "Always",
                        "on-failure" => "OnFailure",
                        _ => "Never",
                    }
                    .into(),
                );
                workloads.push(Object::Pod(Pod {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    metadata: ObjectMeta {
                        labels: labels.clone(),
                        ..ObjectMeta::named(&g.name)
                    },
                    spec,
                    status: None,
                }));
            }
            WorkloadKind::Deployment => {
                // A Deployment's pods always restart (the API refuses
                // any other policy).
                workloads.push(Object::Deployment(Deployment {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    metadata: ObjectMeta {
                        labels: labels.clone(),
                        ..ObjectMeta::named(&g.deployment)
                    },
                    spec: DeploymentSpec {
                        replicas: Some(g.replicas.into()),
                        selector: LabelSelector {
                            match_labels: labels.clone(),
                            match_expressions: None,
                        },
                        template: PodTemplate {
                            metadata: ObjectMeta {
                                labels: labels.clone(),
                                ..ObjectMeta::named(&g.name)
                            },
                            spec,
                        },
                        ..Default::default()
                    },
                    status: None,
                }));
            }
        }
        if !svc_ports.is_empty() {
            services.push(Object::Service(Service {
                api_version: "v1".into(),
                kind: "Service".into(),
                metadata: ObjectMeta {
                    labels: labels.clone(),
                    ..ObjectMeta::named(&g.name)
                },
                spec: ServiceSpec {
                    kind: Some(if published { "NodePort" } else { "ClusterIP" }.into()),
                    selector: labels,
                    ports: svc_ports,
                    ..Default::default()
                },
                status: None,
            }));
        }
    }
    let mut out: Vec<Object> = claims
        .into_iter()
        .map(|name| {
            Object::PersistentVolumeClaim(PersistentVolumeClaim {
                api_version: "v1".into(),
                kind: "PersistentVolumeClaim".into(),
                metadata: ObjectMeta::named(&name),
                spec: PvcSpec {
                    access_modes: vec!["ReadWriteOnce".into()],
                    resources: Some(ResourceRequirements {
                        requests: [("storage".to_string(), Quantity::Text("1Gi".into()))].into(),
                        limits: BTreeMap::new(),
                    }),
                    ..Default::default()
                },
                status: None,
            })
        })
        .collect();
    out.extend(config_maps);
    out.extend(workloads);
    out.extend(services);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rfc1123() {
        assert_eq!(dns_label("my_app-Data"), "my-app-data");
        assert_eq!(dns_label("_x_"), "x");
        assert_eq!(host_volume_name("/"), "root-host");
        assert_eq!(host_volume_name("/srv/www/"), "srv-www-host");
    }

    #[test]
    fn health_becomes_a_probe() {
        let h = wharf_oci::HealthConfig {
            test: Some(vec!["CMD-SHELL".into(), "wget -q localhost".into()]),
            interval: 5_000_000_000,
            timeout: 500_000_000,
            retries: 3,
            ..Default::default()
        };
        let p = probe(&h).unwrap();
        assert_eq!(
            p.exec.unwrap().command,
            ["/bin/sh", "-c", "wget -q localhost"]
        );
        assert_eq!(p.period_seconds, Some(5));
        assert_eq!(p.timeout_seconds, Some(1));
        assert_eq!(p.failure_threshold, Some(3));
        assert!(probe(&wharf_oci::HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        })
        .is_none());
    }

    #[test]
    fn cpus_in_millicores() {
        assert_eq!(cpu_quantity(500_000_000), Quantity::Text("500m".into()));
        assert_eq!(cpu_quantity(2_000_000_000), Quantity::Number(2.into()));
    }
}

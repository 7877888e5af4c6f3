//! `kube play` and `kube down`: manifests run locally, as podman runs
//! them, on wharf's Compose runtime. Each pod becomes a Compose project
//! named after it (its containers `POD-CONTAINER`, podman's names): the
//! first container holds the pod's network namespace and every published
//! port, the others join it (`network_mode: service:FIRST`). Pods share
//! one network, `wharf-kube`, where each answers to its own name and to
//! the names of the Services selecting it. A Deployment of N replicas is
//! N pods (`NAME-pod`, then `NAME-pod-1`...). PersistentVolumeClaims are
//! named volumes; ConfigMaps and Secrets become environment variables, or
//! files in a read-only volume per pod (`POD-VOLUME`). Everything is
//! checked before anything is made, and a failure part way removes what
//! was made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use wharf_compose::model::{
    Dependency, Duration as ComposeDuration, EnvMap, Healthcheck, Network, Port, Project,
    Service as ComposeService, ServiceNetwork, ServiceVolume, StringMap, UnitBytes,
    Volume as ComposeVolume, VolumeVolume,
};
use wharf_compose::normalize_project_name;
use wharf_compose::run::progress::Quiet;
use wharf_compose::run::{DownOptions, Runtime, UpOptions};
use wharf_engine::networks::NetworkCreateRequest;
use wharf_engine::volumes::VolumeCreate;
use wharf_engine::Engine;

use crate::error::{KubeError, KubeResult};
use crate::objects::{
    Container, IntOrString, Object, PodSpec, Probe, Quantity, ResourceRequirements,
};

/// The network every played pod joins (podman's
/// `podman-default-kube-network`).
pub const NETWORK: &str = "wharf-kube";
/// On the containers and config volumes of a pod: the pod's name.
pub const POD_LABEL: &str = "io.wharf.kube.pod";
/// On volumes made for a PersistentVolumeClaim.
pub const CLAIM_LABEL: &str = "io.wharf.kube.pvc";

/// One pod to run: its Compose project, and the files of its ConfigMap
/// and Secret volumes.
#[derive(Debug, Clone)]
pub struct PodPlan {
    pub name: String,
    pub project: Project,
    pub host_network: bool,
    pub config_volumes: Vec<ConfigVolume>,
}

/// A volume holding a ConfigMap's or Secret's keys as files.
#[derive(Debug, Clone)]
pub struct ConfigVolume {
    pub name: String,
    /// Relative path, content, mode.
    pub files: Vec<(String, Vec<u8>, u32)>,
}

/// Everything a manifest file asks for.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub pods: Vec<PodPlan>,
    /// PersistentVolumeClaims the file declares.
    pub claims: Vec<String>,
    /// Claims pods use that the file does not declare (they must exist).
    pub used_claims: BTreeSet<String>,
}

/// Data of the ConfigMaps and Secrets of the file, by name.
#[derive(Default)]
struct Sources {
    config_maps: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl Sources {
    fn get(&self, secret: bool, name: &str) -> Option<&BTreeMap<String, Vec<u8>>> {
        if secret {
            self.secrets.get(name)
        } else {
            self.config_maps.get(name)
        }
    }
}

/// RFC 1123 subdomain: what Kubernetes requires of object names.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

/// RFC 1123 label: container, volume and port names.
fn valid_label(s: &str) -> bool {
    s.len() <= 63 && !s.contains('.') && valid_name(s)
}

/// A quantity in base units: `512Mi` → 536870912, `250m` → 0.25.
pub fn parse_quantity(q: &Quantity) -> Option<f64> {
    let text = match q {
        Quantity::Number(n) => return n.as_f64(),
        Quantity::Text(t) => t.trim(),
    };
    let split = text
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(n * factor)
}

fn secs(v: Option<i64>, default: i64) -> Option<ComposeDuration> {
    Some(ComposeDuration(v.unwrap_or(default).max(0) * 1_000_000_000))
}

/// A probe as a health check, as podman maps it: `exec` runs as is,
/// `httpGet` and `tcpSocket` through the image's `curl` and `nc`.
fn health(p: &Probe, object: &str) -> KubeResult<Healthcheck> {
    let port_text = |port: &IntOrString| match port {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::Text(s) => s.clone(),
    };
    let test = if let Some(e) = &p.exec {
        if e.command.is_empty() {
            return Err(KubeError::invalid(object, "probe exec.command is empty"));
        }
        let mut t = vec!["CMD".to_string()];
        t.extend(e.command.iter().cloned());
        t
    } else if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
        let host = h.host.as_deref().unwrap_or("localhost");
        let path = h.path.as_deref().unwrap_or("/");
        vec![
            "CMD-SHELL".into(),
            format!(
                "curl -f {scheme}://{host}:{}{path} || exit 1",
                port_text(&h.port)
            ),
        ]
    } else if let Some(t) = &p.tcp_socket {
        let host = t.host.as_deref().unwrap_or("localhost");
        vec![
            "CMD-SHELL".into(),
            format!("nc -z -v {host} {} || exit 1", port_text(&t.port)),
        ]
    } else {
        return Err(KubeError::invalid(
            object,
            "probe has no exec, httpGet or tcpSocket handler",
        ));
    };
    Ok(Healthcheck {
        test,
        interval: secs(p.period_seconds, 10),
        timeout: secs(p.timeout_seconds, 1),
        start_period: secs(p.initial_delay_seconds, 0),
        retries: Some(p.failure_threshold.unwrap_or(3).max(1) as u64),
        ..Default::default()
    })
}

fn apply_resources(
    s: &mut ComposeService,
    r: &ResourceRequirements,
    object: &str,
) -> KubeResult<()> {
    let get = |m: &BTreeMap<String, Quantity>, k: &str| -> KubeResult<Option<f64>> {
        match m.get(k) {
            None => Ok(None),
            Some(q) => parse_quantity(q).map(Some).ok_or_else(|| {
                KubeError::invalid(
                    object,
                    format!("resources: invalid quantity for {k}: {q:?}"),
                )
            }),
        }
    };
    if let Some(m) = get(&r.limits, "memory")? {
        s.mem_limit = UnitBytes(m as i64);
    }
    if let Some(c) = get(&r.limits, "cpu")? {
        s.cpus = c as f32;
    }
    if let Some(m) = get(&r.requests, "memory")? {
        s.mem_reservation = UnitBytes(m as i64);
    }
    get(&r.requests, "cpu")?;
    Ok(())
}

/// What `kube play` and `kube down` act on: every object checked and
/// the pods laid out. Nothing is touched.
pub fn plan(objects: &[Object]) -> KubeResult<Plan> {
    let mut sources = Sources::default();
    let mut plan = Plan::default();
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for o in objects {
        let label = format!("{} {:?}", o.kind(), o.name());
        if !valid_name(o.name()) {
            return Err(KubeError::invalid(
                label,
                "metadata.name must be lowercase letters, digits, '-' and '.' (RFC 1123)",
            ));
        }
        if !seen.insert((o.kind(), o.name())) {
            return Err(KubeError::invalid(label, "defined twice"));
        }
        match o {
            Object::ConfigMap(c) => {
                let mut data: BTreeMap<String, Vec<u8>> = c
                    .data
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect();
                for (k, v) in &c.binary_data {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .map_err(|e| KubeError::invalid(&label, format!("binaryData.{k}: {e}")))?;
                    data.insert(k.clone(), bytes);
                }
                sources.config_maps.insert(c.metadata.name.clone(), data);
            }
            Object::Secret(s) => {
                let mut data = BTreeMap::new();
                for (k, v) in &s.data {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .map_err(|e| KubeError::invalid(&label, format!("data.{k}: {e}")))?;
                    data.insert(k.clone(), bytes);
                }
                for (k, v) in &s.string_data {
                    data.insert(k.clone(), v.clone().into_bytes());
                }
                sources.secrets.insert(s.metadata.name.clone(), data);
            }
            Object::PersistentVolumeClaim(c) => plan.claims.push(c.metadata.name.clone()),
            _ => {}
        }
    }
    // The pods, with their labels for the Services' selectors.
    let mut pods: Vec<(String, BTreeMap<String, String>, &PodSpec, String)> = Vec::new();
    for o in objects {
        match o {
            Object::Pod(p) => pods.push((
                p.metadata.name.clone(),
                p.metadata.labels.clone(),
                &p.spec,
                format!("Pod {:?}", p.metadata.name),
            )),
            Object::Deployment(d) => {
                let label = format!("Deployment {:?}", d.metadata.name);
                let replicas = d.spec.replicas.unwrap_or(1);
                if replicas < 0 {
                    return Err(KubeError::invalid(
                        label,
                        "spec.replicas: must be greater than or equal to 0",
                    ));
                }
                let labels = &d.spec.template.metadata.labels;
                let sel = &d.spec.selector.match_labels;
                if sel.is_empty() {
                    return Err(KubeError::invalid(label, "spec.selector: Required value"));
                }
                if sel.iter().any(|(k, v)| labels.get(k) != Some(v)) {
                    return Err(KubeError::invalid(
                        label,
                        "spec.template.metadata.labels: `selector` does not match template `labels`",
                    ));
                }
                for i in 0..replicas {
                    let name = if i == 0 {
                        format!("{}-pod", d.metadata.name)
                    } else {
                        format!("{}-pod-{i}", d.metadata.name)
                    };
                    pods.push((name, labels.clone(), &d.spec.template.spec, label.clone()));
                }
            }
            _ => {}
        }
    }
    // Services: their names as aliases of the pods they select, their
    // ports published from the first of them.
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut published: BTreeMap<String, Vec<Port>> = BTreeMap::new();
    for o in objects {
        let Object::Service(svc) = o else { continue };
        let label = format!("Service {:?}", svc.metadata.name);
        let sel = &svc.spec.selector;
        let matching: Vec<&(String, BTreeMap<String, String>, &PodSpec, String)> = pods
            .iter()
            .filter(|p| !sel.is_empty() && sel.iter().all(|(k, v)| p.1.get(k) == Some(v)))
            .collect();
        for p in &matching {
            aliases
                .entry(p.0.clone())
                .or_default()
                .push(svc.metadata.name.clone());
        }
        let Some(first) = matching.first() else {
            continue;
        };
        for sp in &svc.spec.ports {
            let host = sp.node_port.unwrap_or(sp.port);
            let target = match &sp.target_port {
                None => sp.port,
                Some(IntOrString::Int(n)) => *n,
                Some(IntOrString::Text(name)) => first
                    .2
                    .containers
                    .iter()
                    .flat_map(|c| &c.ports)
                    .find(|p| p.name.as_deref() == Some(name.as_str()))
                    .map(|p| p.container_port)
                    .ok_or_else(|| {
                        KubeError::invalid(
                            &label,
                            format!(
                                "targetPort {name:?} names no container port of pod {:?}",
                                first.0
                            ),
                        )
                    })?,
            };
            for (what, n) in [("port", host), ("targetPort", target)] {
                if !(1..=65535).contains(&n) {
                    return Err(KubeError::invalid(
                        &label,
                        format!("{what} {n}: must be between 1 and 65535"),
                    ));
                }
            }
            published.entry(first.0.clone()).or_default().push(Port {
                target: target as u64,
                published: host.to_string(),
                protocol: sp.protocol.as_deref().unwrap_or("TCP").to_lowercase(),
                mode: "ingress".into(),
                ..Default::default()
            });
        }
    }
    let mut names = BTreeSet::new();
    for (name, labels, spec, object) in &pods {
        if !names.insert(name.clone()) {
            return Err(KubeError::invalid(
                object,
                format!("pod name {name:?} is used twice"),
            ));
        }
        let pod = pod_plan(
            name,
            labels,
            spec,
            object,
            &sources,
            aliases.get(name).cloned().unwrap_or_default(),
            published.get(name).cloned().unwrap_or_default(),
        )?;
        for v in pod.project.volumes.values() {
            if v.labels.0.contains_key(CLAIM_LABEL) && !plan.claims.contains(&v.name) {
                plan.used_claims.insert(v.name.clone());
            }
        }
        plan.pods.push(pod);
    }
    Ok(plan)
}

fn pod_plan(
    pod: &str,
    labels: &BTreeMap<String, String>,
    spec: &PodSpec,
    object: &str,
    sources: &Sources,
    aliases: Vec<String>,
    service_ports: Vec<Port>,
) -> KubeResult<PodPlan> {
    let object = object.to_string();
    if spec.containers.is_empty() {
        return Err(KubeError::invalid(
            object,
            "spec.containers: Required value",
        ));
    }
    if !spec.init_containers.is_empty() {
        return Err(KubeError::invalid(
            object,
            "spec.initContainers: not supported by wharf kube play",
        ));
    }
    let restart = match spec.restart_policy.as_deref() {
        None | Some("Always") => "always",
        Some("OnFailure") => "on-failure",
        Some("Never") => "no",
        Some(other) => {
            return Err(KubeError::invalid(
                object,
                format!("spec.restartPolicy: Unsupported value: {other:?}: supported values: \"Always\", \"OnFailure\", \"Never\""),
            ))
        }
    };
    let host_network = spec.host_network.unwrap_or(false);
    let mut project = Project {
        name: normalize_project_name(pod),
        ..Default::default()
    };
    let mut config_volumes = Vec::new();
    // The pod's volumes: how a mount of each is made.
    let mut volumes: BTreeMap<&str, ServiceVolume> = BTreeMap::new();
    for v in &spec.volumes {
        if !valid_label(&v.name) {
            return Err(KubeError::invalid(
                object,
                format!("spec.volumes: invalid name {:?}", v.name),
            ));
        }
        let mut sv = ServiceVolume::default();
        let kinds = [
            v.persistent_volume_claim.is_some(),
            v.host_path.is_some(),
            v.empty_dir.is_some(),
            v.config_map.is_some(),
            v.secret.is_some(),
        ];
        match kinds.iter().filter(|k| **k).count() {
            1 => {}
            0 => {
                return Err(KubeError::invalid(
                    object,
                    format!("volume {:?}: no supported source (persistentVolumeClaim, hostPath, emptyDir, configMap, secret)", v.name),
                ))
            }
            _ => {
                return Err(KubeError::invalid(
                    object,
                    format!("volume {:?}: may not specify more than 1 volume type", v.name),
                ))
            }
        }
        if let Some(c) = &v.persistent_volume_claim {
            sv.kind = "volume".into();
            sv.source = c.claim_name.clone();
            sv.read_only = c.read_only.unwrap_or(false);
            let mut l = BTreeMap::new();
            l.insert(CLAIM_LABEL.to_string(), c.claim_name.clone());
            project.volumes.insert(
                c.claim_name.clone(),
                ComposeVolume {
                    name: c.claim_name.clone(),
                    external: true,
                    labels: StringMap(l),
                    ..Default::default()
                },
            );
        } else if let Some(h) = &v.host_path {
            if !h.path.starts_with('/') {
                return Err(KubeError::invalid(
                    object,
                    format!("volume {:?}: hostPath.path must be absolute", v.name),
                ));
            }
            sv.kind = "bind".into();
            sv.source = h.path.clone();
        } else if let Some(e) = &v.empty_dir {
            if e.medium.as_deref() == Some("Memory") {
                sv.kind = "tmpfs".into();
            } else {
                sv.kind = "volume".into();
            }
        } else {
            let (secret, name, items, optional, mode) = match (&v.config_map, &v.secret) {
                (Some(c), _) => (false, &c.name, &c.items, c.optional, c.default_mode),
                (_, Some(s)) => (true, &s.secret_name, &s.items, s.optional, s.default_mode),
                _ => unreachable!("one source, checked above"),
            };
            let what = if secret { "secret" } else { "configMap" };
            let data = match sources.get(secret, name) {
                Some(d) => d.clone(),
                None if optional == Some(true) => BTreeMap::new(),
                None => {
                    return Err(KubeError::invalid(
                        object,
                        format!("volume {:?}: {what} {name:?} not found in the file", v.name),
                    ))
                }
            };
            let mode = mode.unwrap_or(0o644);
            let files = if items.is_empty() {
                data.into_iter().map(|(k, b)| (k, b, mode)).collect()
            } else {
                let mut out = Vec::new();
                for it in items {
                    let bytes = data.get(&it.key).cloned().ok_or_else(|| {
                        KubeError::invalid(
                            &object,
                            format!(
                                "volume {:?}: {what} {name:?} has no key {:?}",
                                v.name, it.key
                            ),
                        )
                    })?;
                    if it.path.starts_with('/') || it.path.split('/').any(|c| c == "..") {
                        return Err(KubeError::invalid(
                            &object,
                            format!(
                                "volume {:?}: item path {:?} must be relative, without '..'",
                                v.name, it.path
                            ),
                        ));
                    }
                    out.push((it.path.clone(), bytes, it.mode.unwrap_or(mode)));
                }
                out
            };
            let vol_name = format!("{pod}-{}", v.name);
            let mut l = BTreeMap::new();
            l.insert(POD_LABEL.to_string(), pod.to_string());
            project.volumes.insert(
                v.name.clone(),
                ComposeVolume {
                    name: vol_name.clone(),
                    external: true,
                    labels: StringMap(l),
                    ..Default::default()
                },
            );
            config_volumes.push(ConfigVolume {
                name: vol_name,
                files,
            });
            sv.kind = "volume".into();
            sv.source = v.name.clone();
            sv.read_only = true;
        }
        if volumes.insert(&v.name, sv).is_some() {
            return Err(KubeError::invalid(
                object,
                format!("spec.volumes: duplicate name {:?}", v.name),
            ));
        }
    }
    if !host_network {
        project.networks.insert(
            NETWORK.into(),
            Network {
                name: NETWORK.into(),
                external: true,
                ..Default::default()
            },
        );
    }
    let first = spec.containers[0].name.clone();
    let mut pod_ports: Vec<Port> = Vec::new();
    for c in &spec.containers {
        for p in &c.ports {
            let cobj = format!("{object}: container {:?}", c.name);
            if !(1..=65535).contains(&p.container_port) {
                return Err(KubeError::invalid(
                    cobj,
                    format!(
                        "containerPort {}: must be between 1 and 65535",
                        p.container_port
                    ),
                ));
            }
            let Some(host) = p.host_port else { continue };
            if !(1..=65535).contains(&host) {
                return Err(KubeError::invalid(
                    cobj,
                    format!("hostPort {host}: must be between 1 and 65535"),
                ));
            }
            pod_ports.push(Port {
                target: p.container_port as u64,
                published: host.to_string(),
                host_ip: p.host_ip.clone().unwrap_or_default(),
                protocol: p.protocol.as_deref().unwrap_or("TCP").to_lowercase(),
                mode: "ingress".into(),
                ..Default::default()
            });
        }
    }
    // A Service's port the pod publishes already (hostPort) is not
    // published twice.
    for sp in service_ports {
        if !pod_ports
            .iter()
            .any(|p| p.published == sp.published && p.protocol == sp.protocol)
        {
            pod_ports.push(sp);
        }
    }
    let mut aliases = aliases;
    aliases.insert(0, pod.to_string());
    aliases.dedup();
    let mut names = BTreeSet::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let cobj = format!("{object}: container {:?}", c.name);
        if !valid_label(&c.name) {
            return Err(KubeError::invalid(
                cobj,
                "name must be lowercase letters, digits and '-' (RFC 1123 label)",
            ));
        }
        if !names.insert(c.name.clone()) {
            return Err(KubeError::invalid(cobj, "container name used twice"));
        }
        let mut s = container_service(c, &cobj, sources, &volumes, pod)?;
        s.restart = restart.into();
        s.container_name = format!("{pod}-{}", c.name);
        s.labels.0.extend(labels.clone());
        s.labels.0.insert(POD_LABEL.into(), pod.into());
        if host_network {
            s.network_mode = "host".into();
        } else if i == 0 {
            s.hostname = spec.hostname.clone().unwrap_or_else(|| pod.to_string());
            s.ports = std::mem::take(&mut pod_ports);
            s.networks.insert(
                NETWORK.into(),
                Some(ServiceNetwork {
                    aliases: aliases.clone(),
                    ..Default::default()
                }),
            );
        } else {
            s.network_mode = format!("service:{first}");
            s.depends_on.insert(
                first.clone(),
                Dependency {
                    condition: "service_started".into(),
                    required: true,
                    ..Default::default()
                },
            );
        }
        if let Some(g) = spec.termination_grace_period_seconds {
            s.stop_grace_period = Some(ComposeDuration(g.max(0) * 1_000_000_000));
        }
        project.services.insert(c.name.clone(), s);
    }
    Ok(PodPlan {
        name: pod.to_string(),
        project,
        host_network,
        config_volumes,
    })
}

/// One container as a Compose service (its pod-level settings added by
/// the caller).
fn container_service(
    c: &Container,
    object: &str,
    sources: &Sources,
    volumes: &BTreeMap<&str, ServiceVolume>,
    pod: &str,
) -> KubeResult<ComposeService> {
    if c.image.is_empty() {
        return Err(KubeError::invalid(object, "image: Required value"));
    }
    let mut s = ComposeService {
        image: c.image.clone(),
        entrypoint: c.command.clone(),
        command: c.args.clone(),
        working_dir: c.working_dir.clone().unwrap_or_default(),
        tty: c.tty.unwrap_or(false),
        stdin_open: c.stdin.unwrap_or(false),
        pull_policy: match c.image_pull_policy.as_deref() {
            None | Some("IfNotPresent") => "missing",
            Some("Always") => "always",
            Some("Never") => "never",
            Some(other) => {
                return Err(KubeError::invalid(
                    object,
                    format!("imagePullPolicy: Unsupported value: {other:?}"),
                ))
            }
        }
        .into(),
        ..Default::default()
    };
    // envFrom first, `env` over it, as the kubelet orders them.
    let mut env: BTreeMap<String, Option<String>> = BTreeMap::new();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for from in &c.env_from {
        let (secret, r) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(r), None) => (false, r),
            (None, Some(r)) => (true, r),
            _ => {
                return Err(KubeError::invalid(
                    object,
                    "envFrom: exactly one of configMapRef and secretRef",
                ))
            }
        };
        match sources.get(secret, &r.name) {
            Some(data) => {
                let prefix = from.prefix.as_deref().unwrap_or("");
                for (k, v) in data {
                    env.insert(format!("{prefix}{k}"), Some(text(v)));
                }
            }
            None if r.optional == Some(true) => {}
            None => {
                return Err(KubeError::invalid(
                    object,
                    format!(
                        "envFrom: {} {:?} not found in the file",
                        if secret { "secret" } else { "configMap" },
                        r.name
                    ),
                ))
            }
        }
    }
    for e in &c.env {
        if e.name.is_empty() || e.name.contains('=') {
            return Err(KubeError::invalid(
                object,
                format!("env: invalid name {:?}", e.name),
            ));
        }
        let value = match (&e.value, &e.value_from) {
            (_, None) => e.value.clone().unwrap_or_default(),
            (None, Some(from)) => {
                let (secret, sel) = match (&from.config_map_key_ref, &from.secret_key_ref) {
                    (Some(s), None) => (false, s),
                    (None, Some(s)) => (true, s),
                    _ if from.field_ref.is_some() => {
                        let path = from
                            .field_ref
                            .as_ref()
                            .and_then(|f| f.get("fieldPath"))
                            .and_then(|p| p.as_str())
                            .unwrap_or("");
                        let v = match path {
                            "metadata.name" => pod.to_string(),
                            "metadata.namespace" => "default".to_string(),
                            other => {
                                return Err(KubeError::invalid(
                                    object,
                                    format!(
                                        "env {:?}: fieldRef {other:?} is not supported",
                                        e.name
                                    ),
                                ))
                            }
                        };
                        env.insert(e.name.clone(), Some(v));
                        continue;
                    }
                    _ => {
                        return Err(KubeError::invalid(
                            object,
                            format!(
                            "env {:?}: valueFrom needs configMapKeyRef, secretKeyRef or fieldRef",
                            e.name
                        ),
                        ))
                    }
                };
                match sources.get(secret, &sel.name).and_then(|d| d.get(&sel.key)) {
                    Some(v) => text(v),
                    None if sel.optional == Some(true) => continue,
                    None => {
                        return Err(KubeError::invalid(
                            object,
                            format!(
                                "env {:?}: key {:?} of {} {:?} not found in the file",
                                e.name,
                                sel.key,
                                if secret { "secret" } else { "configMap" },
                                sel.name
                            ),
                        ))
                    }
                }
            }
            (Some(_), Some(_)) => {
                return Err(KubeError::invalid(
                    object,
                    format!("env {:?}: may not have both value and valueFrom", e.name),
                ))
            }
        };
        env.insert(e.name.clone(), Some(value));
    }
    s.environment = EnvMap(env);
    for m in &c.volume_mounts {
        let Some(v) = volumes.get(m.name.as_str()) else {
            return Err(KubeError::invalid(
                object,
                format!(
                    "volumeMounts: volume {:?} is not defined in the pod",
                    m.name
                ),
            ));
        };
        if !m.mount_path.starts_with('/') {
            return Err(KubeError::invalid(
                object,
                format!("volumeMounts {:?}: mountPath must be absolute", m.name),
            ));
        }
        let mut sv = v.clone();
        sv.target = m.mount_path.clone();
        sv.read_only |= m.read_only.unwrap_or(false);
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if sub.starts_with('/') || sub.split('/').any(|c| c == "..") {
                return Err(KubeError::invalid(
                    object,
                    format!(
                        "volumeMounts {:?}: subPath must be relative, without '..'",
                        m.name
                    ),
                ));
            }
            match sv.kind.as_str() {
                "bind" => sv.source = format!("{}/{sub}", sv.source.trim_end_matches('/')),
                "volume" if !sv.source.is_empty() => {
                    sv.volume = Some(VolumeVolume {
                        subpath: sub.to_string(),
                        ..Default::default()
                    })
                }
                _ => {
                    return Err(KubeError::invalid(
                        object,
                        format!(
                            "volumeMounts {:?}: subPath on this volume type is not supported",
                            m.name
                        ),
                    ))
                }
            }
        }
        s.volumes.push(sv);
    }
    if let Some(p) = c.liveness_probe.as_ref().or(c.readiness_probe.as_ref()) {
        s.healthcheck = Some(health(p, object)?);
    }
    if let Some(r) = &c.resources {
        apply_resources(&mut s, r, object)?;
    }
    if let Some(sc) = &c.security_context {
        s.privileged = sc.privileged.unwrap_or(false);
        s.read_only = sc.read_only_root_filesystem.unwrap_or(false);
        if let Some(caps) = &sc.capabilities {
            s.cap_add = caps.add.clone();
            s.cap_drop = caps.drop.clone();
        }
        match (sc.run_as_user, sc.run_as_group) {
            (Some(u), Some(g)) => s.user = format!("{u}:{g}"),
            (Some(u), None) => s.user = u.to_string(),
            (None, Some(g)) => s.user = format!("0:{g}"),
            (None, None) => {}
        }
    }
    Ok(s)
}

/// `kube play`'s flags.
#[derive(Debug, Clone, Default)]
pub struct PlayOptions {
    /// `--replace`: what a previous play of the file made is removed first.
    pub replace: bool,
    /// `--start=false`: created, not started.
    pub no_start: bool,
}

/// What `kube play` made.
#[derive(Debug, Clone, Default)]
pub struct Played {
    /// Pod name, container IDs.
    pub pods: Vec<(String, Vec<String>)>,
    /// Volumes made for claims.
    pub volumes: Vec<String>,
}

/// What `kube down` removed.
#[derive(Debug, Clone, Default)]
pub struct Downed {
    pub pods: Vec<String>,
    pub volumes: Vec<String>,
}

/// The containers of a pod's project.
fn pod_containers(engine: &Engine, pod: &PodPlan) -> KubeResult<Vec<String>> {
    let rt = Runtime::by_name(engine, &pod.project.name);
    Ok(rt
        .containers(wharf_compose::run::OneOff::Include)?
        .into_iter()
        .map(|c| c.id().to_string())
        .collect())
}

fn is_not_found(e: &wharf_engine::EngineError) -> bool {
    e.kind() == wharf_oci::ErrorKind::NotFound
}

/// `kube play`: every object checked, then made; on a failure, what was
/// made is removed again.
pub fn play(
    engine: &Engine,
    objects: &[Object],
    file: &Path,
    opts: &PlayOptions,
) -> KubeResult<Played> {
    let plan = plan(objects)?;
    for claim in &plan.used_claims {
        match engine.inspect_volume(claim) {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                return Err(KubeError::NotFound(format!(
                "persistentVolumeClaim {claim:?}: no such volume and the file does not declare it"
            )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if opts.replace {
        down(engine, objects, false)?;
    }
    for pod in &plan.pods {
        if !pod_containers(engine, pod)?.is_empty() {
            return Err(KubeError::invalid(
                format!("pod {:?}", pod.name),
                "already exists (use --replace, or kube down first)",
            ));
        }
        for c in pod.project.services.values() {
            if engine.find_container(&c.container_name).is_ok() {
                return Err(KubeError::invalid(
                    format!("pod {:?}", pod.name),
                    format!("container name {:?} is already in use", c.container_name),
                ));
            }
        }
        for cv in &pod.config_volumes {
            if engine.inspect_volume(&cv.name).is_ok() {
                return Err(KubeError::invalid(
                    format!("pod {:?}", pod.name),
                    format!("volume name {:?} is already in use", cv.name),
                ));
            }
        }
    }
    let mut made = Made::default();
    match make(engine, &plan, file, opts, &mut made) {
        Ok(played) => Ok(played),
        Err(e) => {
            made.undo(engine, &plan);
            Err(e)
        }
    }
}

/// What `play` made so far, for the undo.
#[derive(Default)]
struct Made {
    network: bool,
    volumes: Vec<String>,
}

impl Made {
    fn undo(&self, engine: &Engine, plan: &Plan) {
        for pod in &plan.pods {
            if pod_containers(engine, pod).is_ok_and(|c| c.is_empty()) {
                continue;
            }
            let mut rt = Runtime::by_name(engine, &pod.project.name);
            if let Err(e) = rt.down(&down_options(), &Quiet) {
                tracing::warn!(pod = %pod.name, error = %e, "undoing kube play");
            }
        }
        for v in &self.volumes {
            if let Err(e) = engine.remove_volume(v, true) {
                tracing::warn!(volume = %v, error = %e, "undoing kube play");
            }
        }
        if self.network {
            remove_network_if_unused(engine);
        }
    }
}

fn down_options() -> DownOptions {
    DownOptions {
        volumes: true,
        remove_orphans: true,
        ..Default::default()
    }
}

fn make(
    engine: &Engine,
    plan: &Plan,
    file: &Path,
    opts: &PlayOptions,
    made: &mut Made,
) -> KubeResult<Played> {
    if plan.pods.iter().any(|p| !p.host_network) {
        match engine.inspect_network(NETWORK) {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {
                let mut labels = BTreeMap::new();
                labels.insert("io.wharf.kube".to_string(), "true".to_string());
                engine.create_network(&NetworkCreateRequest {
                    name: NETWORK.into(),
                    driver: "bridge".into(),
                    labels,
                    ..Default::default()
                })?;
                made.network = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut played = Played::default();
    for claim in &plan.claims {
        if engine.inspect_volume(claim).is_ok() {
            continue;
        }
        let mut labels = BTreeMap::new();
        labels.insert(CLAIM_LABEL.to_string(), claim.clone());
        engine.create_volume(&VolumeCreate {
            name: Some(claim.clone()),
            labels,
            ..Default::default()
        })?;
        made.volumes.push(claim.clone());
        played.volumes.push(claim.clone());
    }
    for pod in &plan.pods {
        for cv in &pod.config_volumes {
            let mut labels = BTreeMap::new();
            labels.insert(POD_LABEL.to_string(), pod.name.clone());
            engine.create_volume(&VolumeCreate {
                name: Some(cv.name.clone()),
                labels,
                ..Default::default()
            })?;
            made.volumes.push(cv.name.clone());
            let info = engine.inspect_volume(&cv.name)?;
            let dir = info
                .get("Mountpoint")
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_string();
            write_files(Path::new(&dir), &cv.files)?;
        }
    }
    let working_dir = file
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for pod in &plan.pods {
        for s in pod.project.services.values() {
            for v in &s.volumes {
                if v.kind == "bind" && !Path::new(&v.source).exists() {
                    std::fs::create_dir_all(&v.source).map_err(|e| KubeError::io(&v.source, e))?;
                }
            }
        }
        let rt = Runtime {
            engine,
            project: pod.project.clone(),
            working_dir: working_dir.clone(),
            config_files: vec![file.display().to_string()],
            env_files: Vec::new(),
            disabled: Vec::new(),
            environment: Default::default(),
        };
        let done = if opts.no_start {
            rt.create(&UpOptions::default(), &Quiet)
        } else {
            rt.up(&UpOptions::default(), &Quiet)
        };
        done.map_err(|source| KubeError::Pod {
            pod: pod.name.clone(),
            source,
        })?;
        played
            .pods
            .push((pod.name.clone(), pod_containers(engine, pod)?));
    }
    Ok(played)
}

/// A ConfigMap's or Secret's files in its volume.
fn write_files(dir: &Path, files: &[(String, Vec<u8>, u32)]) -> KubeResult<()> {
    use std::os::unix::fs::PermissionsExt;
    for (rel, bytes, mode) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| KubeError::io(parent.display().to_string(), e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| KubeError::io(path.display().to_string(), e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode & 0o7777))
            .map_err(|e| KubeError::io(path.display().to_string(), e))?;
    }
    Ok(())
}

/// The shared network goes with its last pod (podman keeps its own; a
/// played file should leave nothing).
fn remove_network_if_unused(engine: &Engine) {
    let in_use = engine
        .inspect_network(NETWORK)
        .ok()
        .and_then(|n| {
            n.get("Containers")
                .and_then(|c| c.as_object())
                .map(|c| !c.is_empty())
        })
        .unwrap_or(false);
    if !in_use {
        if let Err(e) = engine.remove_network(NETWORK) {
            if !is_not_found(&e) {
                tracing::debug!(error = %e, "kube network kept");
            }
        }
    }
}

/// `kube down`: the pods of the file stopped and removed, with their
/// config volumes; with `force`, the claims' volumes too (podman's
/// `--force`).
pub fn down(engine: &Engine, objects: &[Object], force: bool) -> KubeResult<Downed> {
    let plan = plan(objects)?;
    let mut out = Downed::default();
    for pod in &plan.pods {
        // A pod with no containers has nothing of Compose's to remove
        // (its networks and volumes are not the project's).
        if !pod_containers(engine, pod)?.is_empty() {
            let mut rt = Runtime::by_name(engine, &pod.project.name);
            rt.down(&down_options(), &Quiet)?;
            out.pods.push(pod.name.clone());
        }
        for cv in &pod.config_volumes {
            match engine.remove_volume(&cv.name, false) {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if force {
        for claim in &plan.claims {
            match engine.remove_volume(claim, false) {
                Ok(()) => out.volumes.push(claim.clone()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    remove_network_if_unused(engine);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(
            parse_quantity(&Quantity::Text("512Mi".into())),
            Some(536870912.0)
        );
        assert_eq!(parse_quantity(&Quantity::Text("250m".into())), Some(0.25));
        assert_eq!(parse_quantity(&Quantity::Number(2.into())), Some(2.0));
        assert_eq!(parse_quantity(&Quantity::Text("1e3".into())), Some(1000.0));
        assert_eq!(parse_quantity(&Quantity::Text("12Zi".into())), None);
    }

    #[test]
    fn names() {
        assert!(valid_name("web.example-1"));
        assert!(!valid_name("Web"));
        assert!(!valid_name("web_1"));
        assert!(!valid_label("a.b"));
    }
}

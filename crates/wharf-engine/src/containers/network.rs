//! A container's networking as the engine sees it: the `--network`, `-p`,
//! `--dns` ... flags turned into `network.json` and endpoints at create
//! time, the monitor hooks that bring it up and down around each start,
//! and its release when a dead container is found or removed.

use std::cell::RefCell;
use std::collections::BTreeSet;

use wharf_network::config::{ContainerNetConfig, NetMode};
use wharf_network::files::DnsOptions;
use wharf_network::netlink::PendingNetns;
use wharf_network::ports::{parse_expose, parse_publish, PortBinding};
use wharf_network::{netns_path, Attached, ContainerFiles, Leaving, Networking};
use wharf_runtime::monitor::{ContainerDir, MonitorHooks};
use wharf_runtime::spec::NetworkMode;
use wharf_store::networks::{self, EndpointRecord};

use super::names::new_id;
use crate::{Engine, EngineError, EngineResult};

/// The network flags of `docker run` / `docker create`.
#[derive(Debug, Clone, Default)]
pub struct NetworkRequest {
    /// `--network`: `bridge` (default), `host`, `none`, `container:X`, or a
    /// user-defined network's name or ID.
    pub network: Option<String>,
    /// `--network-alias`.
    pub aliases: Vec<String>,
    /// `--ip`.
    pub ip: Option<String>,
    /// `-p`.
    pub publish: Vec<String>,
    /// `-P`.
    pub publish_all: bool,
    /// `--expose`.
    pub expose: Vec<String>,
    pub dns: DnsOptions,
    /// `--add-host name:ip`.
    pub add_hosts: Vec<String>,
}

/// What create decided: the config to save, the endpoints to record, and
/// the namespace mode for the spec.
pub(crate) struct NetworkPlan {
    pub config: ContainerNetConfig,
    pub endpoints: Vec<EndpointRecord>,
    pub mode: NetworkMode,
}

pub(crate) fn network_json(dir: &ContainerDir) -> std::path::PathBuf {
    dir.path.join("network.json")
}

pub(crate) fn container_files(dir: &ContainerDir) -> ContainerFiles {
    ContainerFiles {
        netns: netns_path(&dir.path),
        hosts: dir.hosts(),
        resolv_conf: dir.resolv_conf(),
    }
}

fn invalid(e: wharf_network::NetworkError) -> EngineError {
    EngineError::Invalid(e.to_string())
}

impl NetworkRequest {
    /// Whether the container gets a network namespace of wharf's making
    /// (a bridge: the default, or a user-defined network).
    pub fn wants_bridge(&self) -> bool {
        match self.network.as_deref() {
            None => true,
            Some(n) => !matches!(n, "host" | "none") && !n.starts_with("container:"),
        }
    }
}

impl Engine {
    /// This root's networking, with the predefined networks in place.
    pub fn networking(&self) -> EngineResult<Networking<'_>> {
        let net = Networking::new(&self.store, self.monitor_exe.clone());
        net.ensure_defaults(&mut new_id)?;
        Ok(net)
    }

    /// Networking for a container already attached (its networks exist).
    fn attached_networking(&self) -> Networking<'_> {
        Networking::new(&self.store, self.monitor_exe.clone())
    }

    pub(crate) fn plan_network(
        &self,
        req: &NetworkRequest,
        dir: &ContainerDir,
        image: &wharf_oci::ContainerConfig,
        hostname: &str,
        domainname: &str,
    ) -> EngineResult<NetworkPlan> {
        let mut exposed: BTreeSet<(u16, String)> = BTreeSet::new();
        for key in image.exposed_ports.iter().flat_map(|m| m.keys()) {
            exposed.extend(parse_expose(key).map_err(invalid)?);
        }
        for e in &req.expose {
            exposed.extend(parse_expose(e).map_err(invalid)?);
        }
        let mut publish: Vec<PortBinding> = Vec::new();
        for p in &req.publish {
            let bindings = parse_publish(p).map_err(invalid)?;
            exposed.extend(bindings.iter().map(|b| (b.container_port, b.proto.clone())));
            publish.extend(bindings);
        }
        if req.publish_all {
            for (port, proto) in &exposed {
                if proto != "sctp"
                    && !publish
                        .iter()
                        .any(|b| b.container_port == *port && &b.proto == proto)
                {
                    publish.push(PortBinding {
                        proto: proto.clone(),
                        container_port: *port,
                        host_ip: None,
                        host_ports: (0, 0),
                    });
                }
            }
        }
        let mut extra_hosts = Vec::new();
        for h in &req.add_hosts {
            match h.split_once(':') {
                Some((name, ip)) if !name.is_empty() && ip.parse::<std::net::IpAddr>().is_ok() => {
                    extra_hosts.push((name.to_string(), ip.to_string()))
                }
                _ => return Err(EngineError::Invalid(format!("invalid argument \"{h}\" for \"--add-host\" flag: invalid IP address in add-host: \"{}\"", h.split_once(':').map(|x| x.1).unwrap_or("")))),
            }
        }
        let net = self.networking()?;
        let requested = req.network.as_deref().unwrap_or("bridge");
        let requested = if requested == "default" {
            "bridge"
        } else {
            requested
        };
        let (mode, spec_mode, network) = match requested {
            "host" => (NetMode::Host, NetworkMode::Host, None),
            "none" => (NetMode::None, NetworkMode::None, None),
            other => match other.strip_prefix("container:") {
                Some(c) => {
                    let target = self.find_container(c)?;
                    (NetMode::Container(target.id), NetworkMode::None, None)
                }
                None => {
                    let n = net.find(other)?;
                    match n.driver.as_str() {
                        "host" => (NetMode::Host, NetworkMode::Host, None),
                        "null" => (NetMode::None, NetworkMode::None, None),
                        _ => (
                            NetMode::Bridge,
                            NetworkMode::Namespace(netns_path(&dir.path)),
                            Some(n),
                        ),
                    }
                }
            },
        };
        let user_defined = network.as_ref().is_some_and(|n| n.name != "bridge");
        if req.ip.is_some() && !user_defined {
            return Err(EngineError::Invalid(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        if !req.aliases.is_empty() && !user_defined {
            return Err(EngineError::Invalid(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
        if let (Some(ip), Some(n)) = (&req.ip, &network) {
            let parsed: std::net::Ipv4Addr = ip
                .parse()
                .map_err(|_| EngineError::Invalid(format!("invalid IPv4 address: {ip}")))?;
            let subnet: Option<wharf_network::Subnet> =
                n.subnet.as_deref().and_then(|s| s.parse().ok());
            if !subnet.is_some_and(|s| s.contains(parsed)) {
                return Err(EngineError::Invalid(format!(
                    "invalid IP address {ip}: it is not in network {}'s subnet",
                    n.name
                )));
            }
        }
        let endpoints = network
            .iter()
            .map(|n| EndpointRecord {
                network_id: n.id.clone(),
                aliases: req.aliases.clone(),
                ip_requested: req.ip.clone(),
                ..Default::default()
            })
            .collect();
        let bridged = mode == NetMode::Bridge;
        Ok(NetworkPlan {
            config: ContainerNetConfig {
                mode,
                publish: if bridged { publish } else { Vec::new() },
                exposed: exposed.into_iter().collect(),
                dns: req.dns.clone(),
                extra_hosts,
                hostname: hostname.to_string(),
                domainname: domainname.to_string(),
            },
            endpoints,
            mode: spec_mode,
        })
    }

    /// The container's saved network config (none for containers made
    /// before networking existed).
    pub(crate) fn network_config(&self, id: &str) -> ContainerNetConfig {
        let dir = ContainerDir::new(self.store.root(), id);
        ContainerNetConfig::load(&network_json(&dir)).unwrap_or(ContainerNetConfig {
            mode: NetMode::None,
            ..Default::default()
        })
    }

    /// Release a stopped container's network (its monitor died without
    /// doing it). Cheap when there is nothing to release.
    pub(crate) fn release_network(&self, id: &str) -> EngineResult<()> {
        let dir = ContainerDir::new(self.store.root(), id);
        let files = container_files(&dir);
        let holds = files.netns.exists()
            || self.store.read(|tx| {
                Ok(networks::endpoints_of(tx, id)?
                    .iter()
                    .any(|e| e.ip.is_some()))
            })?
            || !self
                .store
                .read(|tx| networks::ports(tx, Some(id)))?
                .is_empty();
        if holds {
            self.networking()?.teardown(id, &files)?;
        }
        Ok(())
    }

    /// The hooks `wharf monitor` runs around each start; `netns`: the
    /// first start's namespace, already in the making.
    pub fn monitor_hooks(&self, netns: Option<PendingNetns>) -> NetHooks<'_> {
        NetHooks {
            engine: self,
            attached: RefCell::new(None),
            netns: RefCell::new(netns),
            leaving: RefCell::new(None),
        }
    }
}

/// [`MonitorHooks`] bringing the container's network up and down; holds
/// its published ports' reservations while it runs.
pub struct NetHooks<'a> {
    engine: &'a Engine,
    attached: RefCell<Option<Attached>>,
    netns: RefCell<Option<PendingNetns>>,
    leaving: RefCell<Option<Leaving>>,
}

impl MonitorHooks for NetHooks<'_> {
    fn before_start(&self, dir: &ContainerDir) -> Result<Option<NetworkMode>, String> {
        let e = self.engine;
        let cfg = e.network_config(&dir.id);
        // The namespace takes the kernel a while: made while the rest is
        // planned, if the monitor did not start it even earlier.
        let early = self.netns.borrow_mut().take();
        let netns =
            (cfg.mode == NetMode::Bridge).then(|| early.unwrap_or_else(PendingNetns::start));
        let files = container_files(dir);
        if let NetMode::Container(other) = &cfg.mode {
            let c = e
                .refresh(e.find_container(other).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            let pid = c.pid.filter(|_| c.state == "running").ok_or_else(|| {
                format!("cannot join network of a non running container: {}", c.id)
            })?;
            let theirs = ContainerDir::new(e.store.root(), &c.id);
            for (from, to) in [
                (theirs.hosts(), &files.hosts),
                (theirs.resolv_conf(), &files.resolv_conf),
                (theirs.hostname(), &dir.hostname()),
            ] {
                let _ = std::fs::copy(from, to);
            }
            return Ok(Some(NetworkMode::Namespace(
                format!("/proc/{pid}/ns/net").into(),
            )));
        }
        let name = e
            .store
            .read(|tx| wharf_store::containers::get(tx, &dir.id))
            .ok()
            .flatten()
            .map(|c| c.name)
            .unwrap_or_default();
        let net = e.attached_networking();
        let attached = net
            .setup(&dir.id, &name, &cfg, &files, netns)
            .map_err(|e| e.to_string())?;
        *self.attached.borrow_mut() = Some(attached);
        Ok(None)
    }

    fn take_wiring(&self) -> Option<wharf_runtime::monitor::Wiring> {
        let wiring = self.attached.borrow_mut().as_mut()?.take_wiring()?;
        Some(Box::new(move || wiring.run().map_err(|e| e.to_string())))
    }

    fn before_removal(&self, dir: &ContainerDir) {
        // The host ports are free for the next container at once.
        self.attached.borrow_mut().take();
        if self.engine.network_config(&dir.id).mode == NetMode::Bridge {
            match self.engine.attached_networking().leaving(&dir.id) {
                Ok(l) => *self.leaving.borrow_mut() = Some(l),
                Err(e) => tracing::error!(error = %e, "reading the container's networks"),
            }
        }
    }

    fn after_stop(&self, dir: &ContainerDir) {
        self.attached.borrow_mut().take();
        if self.engine.network_config(&dir.id).mode != NetMode::Bridge {
            return;
        }
        let net = self.engine.attached_networking();
        let files = container_files(dir);
        let result = match self.leaving.borrow_mut().take() {
            Some(left) => net.teardown_left(&dir.id, &files, &left),
            None => net.teardown(&dir.id, &files),
        }
        .map_err(|e| e.to_string());
        if let Err(e) = result {
            tracing::error!(error = %e, "tearing down the container's network");
        }
    }
}

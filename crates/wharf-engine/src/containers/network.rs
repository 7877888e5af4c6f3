//! A container's networking as the engine sees it: its record's
//! `HostConfig` (`--network`, `-p`, `--dns` ...), `Config.ExposedPorts`
//! and `NetworkingConfig` checked and resolved at create (the namespace
//! mode and the endpoints), the config the network code needs derived
//! from the record at each start, the monitor hooks that bring it up and
//! down, and its release when a dead container is found or removed.

use std::cell::RefCell;
use std::collections::BTreeSet;

use wharf_model::{ContainerRecord, Definition, HostConfig, NetMode};
use wharf_network::config::ContainerNetConfig;
use wharf_network::files::DnsOptions;
use wharf_network::netlink::PendingNetns;
use wharf_network::ports::{from_port_map, parse_expose, PortBinding};
use wharf_network::{Attached, ContainerFiles, Leaving, Networking};
use wharf_runtime::monitor::{ContainerDir, HookError, MonitorHooks};
use wharf_runtime::spec::NetworkMode;
use wharf_store::networks::{self, EndpointRecord};

use super::names::new_id;
use crate::{Engine, EngineError, EngineResult};

/// What create decided: the endpoints to record and the namespace mode.
pub(crate) struct NetworkPlan {
    pub endpoints: Vec<EndpointRecord>,
    pub mode: NetMode,
}

pub(crate) fn container_files(dir: &ContainerDir) -> ContainerFiles {
    ContainerFiles {
        netns: dir.netns(),
        hosts: dir.hosts(),
        resolv_conf: dir.resolv_conf(),
    }
}

fn invalid(e: wharf_network::NetworkError) -> EngineError {
    EngineError::Invalid(e.to_string())
}

/// Whether the container gets a network namespace of wharf's making (a
/// bridge: the default, or a user-defined network).
pub fn wants_bridge(h: &HostConfig) -> bool {
    let n = h.network();
    !matches!(n, "host" | "none") && !n.starts_with("container:")
}

/// `--add-host name:ip` entries, checked.
fn extra_hosts(h: &HostConfig) -> EngineResult<Vec<(String, String)>> {
    parse_extra_hosts(wharf_model::list(&h.extra_hosts))
}

/// `--add-host name:ip` entries (`run`'s and `build`'s) as (name, ip),
/// with docker's message for a bad one.
pub fn parse_extra_hosts(entries: &[String]) -> EngineResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for e in entries {
        let bad = |why: String| {
            EngineError::Invalid(format!(
                "invalid argument \"{e}\" for \"--add-host\" flag: {why}"
            ))
        };
        match e.split_once(':') {
            Some((name, ip)) if !name.is_empty() && ip.parse::<std::net::IpAddr>().is_ok() => {
                out.push((name.to_string(), ip.to_string()))
            }
            Some((_, ip)) => return Err(bad(format!("invalid IP address in add-host: \"{ip}\""))),
            None => return Err(bad(format!("bad format for add-host: \"{e}\""))),
        }
    }
    Ok(out)
}

/// The endpoint create was asked for (`--ip`, `--ip6`, `--network-alias`,
/// `--link-local-ip`), keyed by the network as given.
pub(crate) fn requested_endpoint(d: &Definition) -> Option<&wharf_model::EndpointSettings> {
    let h = &d.host_config;
    d.networking_config
        .endpoints_config
        .get(&h.network_mode)
        .or_else(|| d.networking_config.endpoints_config.get(h.network()))
}

/// `--link-local-ip`s, IPv4 link-local ones only (docker's messages).
fn link_local_ips(d: &Definition) -> EngineResult<Vec<std::net::Ipv4Addr>> {
    let ips = requested_endpoint(d)
        .and_then(|e| e.ipam_config.as_ref())
        .map(|c| wharf_model::list(&c.link_local_ips).to_vec())
        .unwrap_or_default();
    let mut out = Vec::new();
    for ip in &ips {
        match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(v4)) if v4.is_link_local() => out.push(v4),
            Ok(std::net::IpAddr::V4(_)) => {
                return Err(EngineError::Invalid(format!(
                    "invalid link local IP address: {ip}"
                )))
            }
            Ok(std::net::IpAddr::V6(_)) => {
                return Err(EngineError::Invalid(format!(
                    "IPv6 is not supported by wharf's networks: link-local IP address {ip}"
                )))
            }
            Err(_) => {
                return Err(EngineError::Invalid(format!(
                    "Invalid link-local IP address: [{}]",
                    ips.join(" ")
                )))
            }
        }
    }
    Ok(out)
}

/// What the network code needs of a container, from its definition
/// (`mode`: its resolved namespace mode).
pub(crate) fn net_config(d: &Definition) -> EngineResult<ContainerNetConfig> {
    let h = &d.host_config;
    let mac_address = match d.config.mac_address.as_str() {
        "" => None,
        m => Some(
            wharf_network::config::parse_mac(m)
                .ok_or_else(|| EngineError::Invalid(format!("{m} is not a valid mac address")))?,
        ),
    };
    let mut exposed: BTreeSet<(u16, String)> = BTreeSet::new();
    for key in d.config.exposed_ports.iter().flat_map(|m| m.keys()) {
        exposed.extend(parse_expose(key).map_err(invalid)?);
    }
    let mut publish: Vec<PortBinding> = match &h.port_bindings {
        Some(map) => from_port_map(map).map_err(invalid)?,
        None => Vec::new(),
    };
    exposed.extend(publish.iter().map(|b| (b.container_port, b.proto.clone())));
    if h.publish_all_ports {
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
    let mode = d.resolved.net_mode.clone();
    Ok(ContainerNetConfig {
        publish: if mode == NetMode::Bridge {
            publish
        } else {
            Vec::new()
        },
        mode,
        exposed: exposed.into_iter().collect(),
        dns: DnsOptions {
            servers: wharf_model::list(&h.dns).to_vec(),
            search: wharf_model::list(&h.dns_search).to_vec(),
            options: wharf_model::list(&h.dns_options).to_vec(),
        },
        extra_hosts: extra_hosts(h)?,
        hostname: d.config.hostname.clone(),
        domainname: d.config.domainname.clone(),
        mac_address,
        link_local_ips: link_local_ips(d)?,
    })
}

/// The endpoint a container gets on network `n` with its
/// `EndpointSettings` (`--ip`, `--network-alias`), checked as docker's
/// daemon checks them.
fn endpoint_for(
    n: &wharf_store::networks::NetworkRecord,
    settings: Option<&wharf_model::EndpointSettings>,
) -> EngineResult<EndpointRecord> {
    let ip = settings
        .and_then(|e| e.ipam_config.as_ref())
        .map(|c| c.ipv4_address.clone())
        .filter(|ip| !ip.is_empty());
    let aliases: Vec<String> = settings
        .map(|e| wharf_model::list(&e.aliases).to_vec())
        .unwrap_or_default();
    let user_defined = n.name != "bridge";
    if ip.is_some() && !user_defined {
        return Err(EngineError::Invalid(
            "user specified IP address is supported on user defined networks only".into(),
        ));
    }
    if !aliases.is_empty() && !user_defined {
        return Err(EngineError::Invalid(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    if let Some(ip) = &ip {
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
    let ip6 = settings
        .and_then(|e| e.ipam_config.as_ref())
        .map(|c| c.ipv6_address.clone())
        .filter(|ip| !ip.is_empty() && user_defined);
    if let Some(ip6) = &ip6 {
        check_ip6(n, ip6)?;
    }
    Ok(EndpointRecord {
        network_id: n.id.clone(),
        aliases,
        ip_requested: ip,
        ip6_requested: ip6,
        ..Default::default()
    })
}

/// `--ip6` on network `n`: an address of its IPv6 subnet (docker's
/// messages).
pub(crate) fn check_ip6(n: &wharf_store::networks::NetworkRecord, ip6: &str) -> EngineResult<()> {
    let subnet6: Option<wharf_network::subnet::Subnet6> = n
        .subnet6
        .as_deref()
        .filter(|_| n.ipv6)
        .and_then(|s| s.parse().ok());
    let Some(subnet6) = subnet6 else {
        return Err(EngineError::Invalid(
            "user specified IP address is supported only when connecting to networks with user configured subnets"
                .into(),
        ));
    };
    let parsed: std::net::Ipv6Addr = ip6
        .parse()
        .map_err(|_| EngineError::Invalid(format!("invalid IPv6 address: {ip6}")))?;
    if !subnet6.contains(parsed) {
        return Err(EngineError::Invalid(format!(
            "invalid IP address {ip6}: it is not in network {}'s subnet",
            n.name
        )));
    }
    Ok(())
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

    /// Check a new container's network options and resolve its namespace
    /// mode and endpoints, as docker's daemon does at create.
    pub(crate) fn plan_network(&self, d: &Definition) -> EngineResult<NetworkPlan> {
        let h = &d.host_config;
        extra_hosts(h)?;
        let net = self.networking()?;
        let requested = h.network();
        let (mode, network) = match requested {
            "host" => (NetMode::Host, None),
            "none" => (NetMode::None, None),
            other => match other.strip_prefix("container:") {
                Some(c) => (NetMode::Container(self.find_container(c)?.id), None),
                None => {
                    let n = net.find(other)?;
                    match n.driver.as_str() {
                        "host" => (NetMode::Host, None),
                        "null" => (NetMode::None, None),
                        _ => (NetMode::Bridge, Some(n)),
                    }
                }
            },
        };
        if !wharf_model::list(&h.links).is_empty()
            && matches!(mode, NetMode::Host | NetMode::None | NetMode::Container(_))
        {
            return Err(EngineError::Invalid(
                "links are only supported for user-defined networks".into(),
            ));
        }
        let primary = requested_endpoint(d);
        // `--ip6` is checked with the endpoint (docker ignores it on the
        // default bridge).
        if network.as_ref().is_some_and(|n| n.name != "bridge") {
            link_local_ips(d)?;
        }
        let mut endpoints = Vec::new();
        match &network {
            Some(n) => endpoints.push(endpoint_for(n, primary)?),
            None => {
                if let Some(p) = primary {
                    let ip = p
                        .ipam_config
                        .as_ref()
                        .is_some_and(|c| !c.ipv4_address.is_empty());
                    if ip {
                        return Err(EngineError::Invalid(
                            "user specified IP address is supported on user defined networks only"
                                .into(),
                        ));
                    }
                    if !wharf_model::list(&p.aliases).is_empty() {
                        return Err(EngineError::Invalid(
                            "network-scoped alias is supported only for containers in user defined networks"
                                .into(),
                        ));
                    }
                }
            }
        }
        // The other networks of `NetworkingConfig` (Engine API 1.44's
        // multi-network create, which Compose uses): on a bridge only.
        let mut seen = BTreeSet::new();
        for (name, settings) in &d.networking_config.endpoints_config {
            if name == &h.network_mode || name == requested {
                continue;
            }
            if network.is_none() {
                return Err(EngineError::Invalid(
                    "Container cannot be connected to network endpoints".into(),
                ));
            }
            let n = net.find(name)?;
            if n.driver != "bridge" || n.name == "bridge" {
                return Err(EngineError::Invalid(format!(
                    "Container cannot be connected to {name}: only user-defined bridge networks can be added at create"
                )));
            }
            if network.as_ref().is_some_and(|p| p.id == n.id) || !seen.insert(n.id.clone()) {
                continue;
            }
            endpoints.push(endpoint_for(&n, Some(settings))?);
        }
        Ok(NetworkPlan { endpoints, mode })
    }

    /// What the network code needs of container `rec`.
    pub(crate) fn network_config(&self, rec: &ContainerRecord) -> ContainerNetConfig {
        net_config(&rec.definition).unwrap_or_else(|e| {
            // Checked at create: only a record damaged since gets here.
            tracing::warn!(id = %rec.id, error = %e, "the container's network options");
            ContainerNetConfig {
                mode: NetMode::None,
                ..Default::default()
            }
        })
    }

    /// [`Engine::network_config`] of container `id` (`None` when it is gone).
    fn network_config_of(&self, id: &str) -> Option<ContainerNetConfig> {
        let rec = self
            .store
            .read(|tx| wharf_store::containers::get(tx, id))
            .ok()??;
        Some(self.network_config(&rec))
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
            link_env: RefCell::new(Vec::new()),
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
    /// `--link`'s variables for this start, found with its hosts entries.
    link_env: RefCell<Vec<String>>,
}

impl NetHooks<'_> {
    /// The container's record as it is now (`update` may have changed it
    /// since the monitor started).
    fn record(&self, dir: &ContainerDir) -> Option<wharf_model::ContainerRecord> {
        self.engine
            .store
            .read(|tx| wharf_store::containers::get(tx, &dir.id))
            .ok()?
    }
}

impl MonitorHooks for NetHooks<'_> {
    fn before_start(&self, dir: &ContainerDir) -> Result<Option<NetworkMode>, HookError> {
        let e = self.engine;
        let failed = |e: EngineError| HookError::Network(Box::new(e));
        let rec = e
            .store
            .read(|tx| wharf_store::containers::get(tx, &dir.id))
            .map_err(|x| failed(x.into()))?
            .ok_or_else(|| {
                failed(EngineError::NotFound(format!(
                    "No such container: {}",
                    dir.id
                )))
            })?;
        let mut cfg = e.network_config(&rec);
        // Legacy links: on the default bridge only, as docker's.
        if cfg.mode == NetMode::Bridge
            && rec.definition.host_config.network() == "bridge"
            && !wharf_model::list(&rec.definition.host_config.links).is_empty()
        {
            let linked = e.linked(&rec)?;
            cfg.extra_hosts.extend(super::links::hosts_entries(&linked));
            *self.link_env.borrow_mut() = super::links::link_env(&linked);
        }
        // The namespace takes the kernel a while: made while the rest is
        // planned, if the monitor did not start it even earlier.
        let early = self.netns.borrow_mut().take();
        let netns =
            (cfg.mode == NetMode::Bridge).then(|| early.unwrap_or_else(PendingNetns::start));
        let files = container_files(dir);
        if let NetMode::Container(other) = &cfg.mode {
            let c = e
                .refresh(e.find_container(other).map_err(failed)?)
                .map_err(failed)?;
            let pid = c
                .state
                .pid
                .filter(|_| c.state.status.is_running())
                .ok_or_else(|| HookError::PeerNotRunning(c.id.clone()))?;
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
        let net = e.attached_networking();
        let attached = net
            .setup(&dir.id, &rec.name, &cfg, &files, netns)
            .map_err(|e| HookError::Network(Box::new(e)))?;
        *self.attached.borrow_mut() = Some(attached);
        wharf_runtime::timeline::mark("mon: network planned");
        Ok(None)
    }

    fn restart_policy(&self, dir: &ContainerDir) -> Option<wharf_model::RestartPolicy> {
        Some(self.record(dir)?.definition.host_config.restart_policy)
    }

    fn resources(&self, dir: &ContainerDir) -> Option<wharf_model::Resources> {
        let rec = self.record(dir)?;
        let opts = wharf_runtime::spec::RunOptions::from_definition(
            &rec.definition,
            wharf_runtime::spec::NetworkMode::None,
        );
        Some(opts.resources)
    }

    fn join_peers(&self, options: &mut wharf_runtime::spec::RunOptions) -> Result<bool, HookError> {
        let linked = std::mem::take(&mut *self.link_env.borrow_mut());
        let with_links = !linked.is_empty();
        if with_links {
            options.link_env = linked;
        }
        Ok(self.engine.join_peers(options)? || with_links)
    }

    fn rules_in_force(&self) -> Result<(), HookError> {
        match self.attached.borrow_mut().as_mut() {
            Some(a) => a
                .rules_in_force()
                .map_err(|e| HookError::Network(Box::new(e))),
            None => Ok(()),
        }
    }

    fn take_wiring(&self) -> Option<wharf_runtime::monitor::Wiring> {
        let wiring = self.attached.borrow_mut().as_mut()?.take_wiring()?;
        Some(Box::new(move || wiring.run().map_err(|e| e.to_string())))
    }

    fn before_removal(&self, dir: &ContainerDir) {
        // The host ports are free for the next container at once.
        self.attached.borrow_mut().take();
        if self
            .engine
            .network_config_of(&dir.id)
            .is_some_and(|c| c.mode == NetMode::Bridge)
        {
            match self.engine.attached_networking().leaving(&dir.id) {
                Ok(l) => *self.leaving.borrow_mut() = Some(l),
                Err(e) => tracing::error!(error = %e, "reading the container's networks"),
            }
        }
    }

    fn started(&self, _dir: &ContainerDir) {
        // The `nft` runs of the start committed before it; their exits
        // (a grace period later) are waited for now, off the start's path.
        // The monitor waits for any child (`waitpid(-1)`) only once its
        // container has exited, so none of them was reaped meanwhile.
        wharf_network::nft::reap_stragglers(true);
    }

    fn after_stop(&self, dir: &ContainerDir) {
        self.attached.borrow_mut().take();
        // A `--rm` container's row is gone by now: it said so before.
        let bridged = self.leaving.borrow().is_some()
            || self
                .engine
                .network_config_of(&dir.id)
                .is_some_and(|c| c.mode == NetMode::Bridge);
        if !bridged {
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

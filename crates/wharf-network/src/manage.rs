//! Network objects: the predefined `bridge`, `host` and `none`, and
//! user-defined bridge networks (create, find, remove).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use wharf_store::networks::{self, NetworkRecord};
use wharf_store::Store;

use crate::ipam::Registry;
use crate::names::RootNames;
use crate::subnet::{Subnet, Subnet6};
use crate::{NetResult, NetworkError};

/// Docker 20.10's answer to swarm-scoped networks on a node outside a swarm.
pub const SWARM_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// `docker network create` options.
#[derive(Debug, Clone, Default)]
pub struct CreateNetwork {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// `--aux-address name=ip`, kept out of the pool.
    pub aux_addresses: BTreeMap<String, String>,
    /// `--ipv6`: dual stack, with `subnet6`.
    pub ipv6: bool,
    /// The IPv6 `--subnet` and `--gateway`.
    pub subnet6: Option<String>,
    pub gateway6: Option<String>,
}

/// Docker 20.10's answer to `--ipv6` without an IPv6 `--subnet` (it has
/// no default IPv6 pool).
pub const NO_IPV6_POOL: &str = "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network";

/// Option key prefix under which a network keeps its `--aux-address`es.
pub const AUX_ADDRESS: &str = "wharf.aux-address.";

/// A store root's networking.
pub struct Networking<'a> {
    pub store: &'a Store,
    pub names: RootNames,
    /// The wharf binary (runs the DNS servers).
    pub exe: std::path::PathBuf,
}

fn now() -> String {
    wharf_oci::config::format_time(chrono::Utc::now())
}

impl<'a> Networking<'a> {
    pub fn new(store: &'a Store, exe: std::path::PathBuf) -> Networking<'a> {
        Networking {
            store,
            names: RootNames::new(store.root()),
            exe,
        }
    }

    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// The predefined networks, created on first use (the `bridge`
    /// network's subnet comes from the pool then), the default bridge's
    /// IPv6 as the root's daemon.json says.
    pub fn ensure_defaults(&self, new_id: &mut dyn FnMut() -> String) -> NetResult<()> {
        let (missing, bridge) = self.store.read(|tx| {
            let mut out = Vec::new();
            for n in ["bridge", "host", "none"] {
                if networks::by_name(tx, n)?.is_none() {
                    out.push(n);
                }
            }
            Ok((out, networks::by_name(tx, "bridge")?))
        })?;
        if let Some(bridge) = bridge {
            self.sync_default_bridge(&bridge)?;
        }
        for name in missing {
            let mut rec = NetworkRecord {
                id: new_id(),
                name: name.into(),
                driver: match name {
                    "none" => "null".into(),
                    other => other.into(),
                },
                created: now(),
                labels: "{}".into(),
                options: "{}".into(),
                ..Default::default()
            };
            let mut subnet = None;
            if name == "bridge" {
                let bridge = self.names.default_bridge();
                let s = Registry::open()?
                    .allocate(self.root(), None, &|dev| self.names.owns_link(dev))?;
                subnet = Some(s);
                rec.subnet = Some(s.to_string());
                rec.gateway = s.nth(1).map(|g| g.to_string());
                rec.options = serde_json::json!({
                    "com.docker.network.bridge.default_bridge": "true",
                    "com.docker.network.bridge.enable_icc": "true",
                    "com.docker.network.bridge.enable_ip_masquerade": "true",
                    "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                    "com.docker.network.bridge.name": bridge,
                    "com.docker.network.driver.mtu": "1500",
                })
                .to_string();
                rec.bridge = Some(bridge);
            }
            match self.store.write(|tx| networks::insert(tx, &rec)) {
                Ok(()) if name == "bridge" => self.sync_default_bridge(&rec)?,
                Ok(()) => {}
                // Another process made it first.
                Err(wharf_store::StoreError::Conflict(_)) => {
                    if let Some(s) = subnet {
                        Registry::open()?.release(self.root(), s)?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Move the default bridge to a free subnet when its bridge is down
    /// and another link's route now covers its subnet: docker's allocator
    /// looks at routes, not at our registry, and may have given it to one
    /// of its networks while the bridge was down (from a root's first use
    /// to its first container, or after `system prune`). docker0 takes a
    /// free subnet the same way at the daemon's start. Called under the
    /// network lock after a failed setup; with containers or steps on the
    /// bridge (their addresses in the old subnet) nothing moves. Returns
    /// whether it moved.
    pub(crate) fn repick_default_subnet(&self) -> NetResult<bool> {
        let Some(net) = self.store.read(|tx| networks::by_name(tx, "bridge"))? else {
            return Ok(false);
        };
        let Some(bridge) = net.bridge.clone() else {
            return Ok(false);
        };
        let Ok(a) = crate::attach::addressing(&net) else {
            return Ok(false);
        };
        if Path::new("/sys/class/net").join(&bridge).exists()
            || self.check_routes(&bridge, &a.subnet, &net.name).is_ok()
        {
            return Ok(false);
        }
        let busy = self
            .store
            .read(|tx| networks::active_endpoints(tx))?
            .iter()
            .any(|e| e.network_id == net.id)
            || self.live_steps()?.iter().any(|s| s.network_id == net.id);
        if busy {
            return Ok(false);
        }
        let mut registry = Registry::open()?;
        let new = registry.allocate(self.root(), None, &|dev| self.names.owns_link(dev))?;
        registry.release(self.root(), a.subnet)?;
        let gateway = new.nth(1).unwrap_or(new.addr).to_string();
        self.store
            .write(|tx| networks::set_subnet(tx, &net.id, &new.to_string(), &gateway))?;
        tracing::warn!(old = %a.subnet, new = %new, "the default bridge's subnet is routed elsewhere: moved");
        Ok(true)
    }

    /// The default bridge made to follow `<root>/daemon.json` (docker's
    /// `"ipv6": true` and `"fixed-cidr-v6"`, `"icc"`), as docker applies
    /// its daemon.json when it starts: changed only while no container
    /// is on the bridge.
    fn sync_default_bridge(&self, bridge: &NetworkRecord) -> NetResult<()> {
        let settings = crate::config::default_bridge(self.root())?;
        let wanted = settings.ipv6;
        let current = bridge
            .subnet6
            .as_deref()
            .filter(|_| bridge.ipv6)
            .and_then(|s| s.parse::<Subnet6>().ok());
        let icc_now = crate::bridge_opts::of(bridge).icc;
        if wanted == current && settings.icc == icc_now {
            return Ok(());
        }
        let busy = self
            .store
            .read(|tx| networks::active_endpoints(tx))?
            .iter()
            .any(|e| e.network_id == bridge.id);
        if busy {
            return Ok(());
        }
        if settings.icc != icc_now {
            let mut options: BTreeMap<String, String> =
                serde_json::from_str(&bridge.options).unwrap_or_default();
            options.insert(crate::bridge_opts::ICC.into(), settings.icc.to_string());
            let text = serde_json::to_string(&options).expect("serializes");
            self.store
                .write(|tx| networks::set_options(tx, &bridge.id, &text))?;
        }
        if wanted == current {
            return Ok(());
        }
        let mut registry = Registry::open()?;
        if let Some(old) = bridge
            .subnet6
            .as_deref()
            .and_then(|s| s.parse::<Subnet6>().ok())
        {
            registry.release(self.root(), old)?;
        }
        if let Some(new) = wanted {
            registry.allocate6(self.root(), new, &|dev| self.names.owns_link(dev))?;
        }
        let text = wanted.map(|s| s.to_string());
        self.store.write(|tx| {
            networks::set_ipv6(tx, &bridge.id, wanted.is_some(), text.as_deref(), None)
        })?;
        Ok(())
    }

    /// A network by full name, full ID or unique ID prefix.
    pub fn find(&self, name: &str) -> NetResult<NetworkRecord> {
        let all = self.store.read(|tx| networks::list(tx))?;
        if let Some(n) = all.iter().find(|n| n.name == name || n.id == name) {
            return Ok(n.clone());
        }
        let matches: Vec<_> = all.iter().filter(|n| n.id.starts_with(name)).collect();
        match matches.as_slice() {
            [one] if !name.is_empty() => Ok((*one).clone()),
            [_, _, ..] => Err(NetworkError::NotFound(format!(
                "network {name} is ambiguous ({} matches found based on ID prefix)",
                matches.len()
            ))),
            _ => Err(NetworkError::NotFound(format!("network {name} not found"))),
        }
    }

    pub fn list(&self) -> NetResult<Vec<NetworkRecord>> {
        Ok(self.store.read(|tx| networks::list(tx))?)
    }

    /// `docker network create`: a row, a subnet and, for a bridge network,
    /// its bridge. As docker's `br-<id>`, the bridge lives as long as the
    /// network: its route is what keeps other allocators (docker's looks
    /// at the host's routes, not at our registry) off the subnet.
    pub fn create(&self, req: &CreateNetwork) -> NetResult<NetworkRecord> {
        let lower = crate::lower::is_lower(&req.driver);
        match req.driver.as_str() {
            "bridge" | "macvlan" | "ipvlan" => {}
            "overlay" => {
                return Err(NetworkError::Invalid(SWARM_MANAGER.into()));
            }
            "host" | "null" => {
                return Err(NetworkError::Conflict(format!(
                    "only one instance of \"{}\" network is allowed",
                    req.driver
                )))
            }
            d => return Err(NetworkError::NotFound(format!("plugin \"{d}\" not found"))),
        }
        if ["bridge", "host", "none", "default"].contains(&req.name.as_str()) {
            return Err(NetworkError::Conflict(format!(
                "{} is a pre-defined network and cannot be created",
                req.name
            )));
        }
        if self
            .store
            .read(|tx| networks::by_name(tx, &req.name))?
            .is_some()
        {
            return Err(NetworkError::Conflict(format!(
                "network with name {} already exists",
                req.name
            )));
        }
        let requested: Option<Subnet> = req.subnet.as_deref().map(str::parse).transpose()?;
        let range: Option<Subnet> = req.ip_range.as_deref().map(str::parse).transpose()?;
        let gateway: Option<Ipv4Addr> = parse_gateway(req.gateway.as_deref())?;
        if requested.is_none() && (gateway.is_some() || range.is_some()) {
            return Err(NetworkError::Invalid(
                "ip-range and gateway need a subnet (--subnet)".into(),
            ));
        }
        if let (Some(s), Some(r)) = (requested, range) {
            if !s.contains(r.addr) || r.prefix < s.prefix {
                return Err(NetworkError::Invalid(format!(
                    "Invalid ip-range {r}: it is not within subnet {s}"
                )));
            }
        }
        if let (Some(s), Some(g)) = (requested, gateway) {
            if !s.contains(g) {
                return Err(NetworkError::Invalid(format!(
                    "Invalid gateway {g}: it is not within subnet {s}"
                )));
            }
        }
        for ip in req.aux_addresses.values() {
            let inside = ip
                .parse::<Ipv4Addr>()
                .ok()
                .zip(requested)
                .is_some_and(|(ip, s)| s.contains(ip));
            if !inside {
                return Err(NetworkError::Invalid(format!(
                    "no matching subnet for aux-address {ip}"
                )));
            }
        }
        let (subnet6, gateway6) = plan_ipv6(req)?;
        if !lower {
            crate::bridge_opts::parse(&req.options)?;
        }
        let parent = lower.then(|| self.plan_lower(req)).transpose()?;
        let mut registry = Registry::open()?;
        let subnet = registry.allocate(self.root(), requested, &|dev| self.names.owns_link(dev))?;
        if let Some(s6) = subnet6 {
            let own = |dev: &str| self.names.owns_link(dev);
            if let Err(e) = registry.allocate6(self.root(), s6, &own) {
                registry.release(self.root(), subnet)?;
                return Err(e);
            }
        }
        let release = |registry: &mut Registry| -> NetResult<()> {
            registry.release(self.root(), subnet)?;
            match subnet6 {
                Some(s6) => registry.release(self.root(), s6),
                None => Ok(()),
            }
        };
        // Docker shows a macvlan/ipvlan gateway only when one was given
        // (it is the segment's router, not ours); `.1` is kept free anyway.
        let gateway = match lower {
            true => gateway,
            false => Some(gateway.or_else(|| subnet.nth(1)).unwrap_or(subnet.addr)),
        };
        let mut options = req.options.clone();
        for (name, ip) in &req.aux_addresses {
            options.insert(format!("{AUX_ADDRESS}{name}"), ip.clone());
        }
        let bridge = if lower {
            None
        } else {
            let b = options
                .get("com.docker.network.bridge.name")
                .cloned()
                .unwrap_or_else(|| self.names.user_bridge(&req.id));
            options.remove("com.docker.network.bridge.name");
            Some(b)
        };
        if let Some(plan) = &parent {
            match self.make_parent(plan) {
                Ok(true) => {
                    options.insert(crate::lower::CREATED_PARENT.into(), "true".into());
                }
                Ok(false) => {}
                Err(e) => {
                    release(&mut registry)?;
                    return Err(e);
                }
            }
        }
        let rec = NetworkRecord {
            id: req.id.clone(),
            name: req.name.clone(),
            driver: req.driver.clone(),
            created: now(),
            subnet: Some(subnet.to_string()),
            gateway: gateway.map(|g| g.to_string()),
            ip_range: range.map(|r| r.to_string()),
            internal: req.internal,
            bridge,
            labels: serde_json::to_string(&req.labels).expect("serializes"),
            options: serde_json::to_string(&options).expect("serializes"),
            ipv6: req.ipv6,
            subnet6: subnet6.map(|s| s.to_string()),
            gateway6: gateway6.map(|g| g.to_string()),
        };
        // The subnet reserved, no row yet.
        wharf_failpoint::hit("network-create-before-tx");
        if let Err(e) = self.store.write(|tx| networks::insert(tx, &rec)) {
            release(&mut registry)?;
            self.remove_parent(&rec)?;
            return Err(e.into());
        }
        // The row written, no bridge yet: its first container makes it.
        wharf_failpoint::hit("network-create-before-bridge");
        if !lower {
            let made = crate::netlink::Netlink::new()
                .and_then(|nl| self.ensure_bridge(&nl, &rec, &crate::attach::addressing(&rec)?));
            if let Err(e) = made {
                self.store.write(|tx| networks::delete(tx, &rec.id))?;
                release(&mut registry)?;
                return Err(e);
            }
        }
        Ok(rec)
    }

    /// `docker network rm`: refused while containers are attached.
    pub fn remove(&self, name: &str) -> NetResult<NetworkRecord> {
        let net = self.find(name)?;
        if ["bridge", "host", "none"].contains(&net.name.as_str()) {
            return Err(NetworkError::Conflict(format!(
                "{} is a pre-defined network and cannot be removed",
                net.name
            )));
        }
        // After any teardown in flight: a `run --rm` on this network may
        // still be bringing its bridge down.
        let _lock = self.lock()?;
        wharf_failpoint::timeline::mark("net rm: locked");
        let removed = self.store.write(|tx| {
            if !networks::endpoints_on(tx, &net.id)?.is_empty() {
                return Ok(false);
            }
            networks::delete(tx, &net.id)?;
            Ok(true)
        })?;
        if !removed {
            return Err(NetworkError::Conflict(format!(
                "error while removing network: network {} id {} has active endpoints",
                net.name, net.id
            )));
        }
        // The row gone, the subnet still reserved.
        wharf_failpoint::hit("network-rm-after-tx");
        // The network's bridge goes with it, and docker's rules for it
        // even if the bridge went some other way before.
        if net.bridge.is_some() {
            self.delete_removed_bridge(&crate::netlink::Netlink::new()?, &net)?;
        }
        wharf_failpoint::timeline::mark("net rm: bridge gone");
        let mut registry = Registry::open()?;
        if let Some(s) = net.subnet.as_deref().and_then(|s| s.parse::<Subnet>().ok()) {
            registry.release(self.root(), s)?;
        }
        if let Some(s) = net
            .subnet6
            .as_deref()
            .and_then(|s| s.parse::<Subnet6>().ok())
        {
            registry.release(self.root(), s)?;
        }
        drop(registry);
        self.remove_parent(&net)?;
        Ok(net)
    }
}

/// A `--gateway` of either family.
fn parse_gateway<T: std::str::FromStr>(g: Option<&str>) -> NetResult<Option<T>> {
    g.map(|g| {
        g.parse()
            .map_err(|_| NetworkError::Invalid(format!("invalid gateway address {g}")))
    })
    .transpose()
}

/// The IPv6 half of a `network create`, checked as docker checks it.
fn plan_ipv6(req: &CreateNetwork) -> NetResult<(Option<Subnet6>, Option<Ipv6Addr>)> {
    let subnet6: Option<Subnet6> = req.subnet6.as_deref().map(str::parse).transpose()?;
    let gateway6: Option<Ipv6Addr> = parse_gateway(req.gateway6.as_deref())?;
    match (subnet6, gateway6) {
        (None, Some(g)) => Err(NetworkError::Invalid(format!(
            "no matching subnet for gateway {g}"
        ))),
        (Some(s), Some(g)) if !s.contains(g) => Err(NetworkError::Invalid(format!(
            "Invalid gateway {g}: it is not within subnet {s}"
        ))),
        (None, None) if req.ipv6 => Err(NetworkError::Conflict(NO_IPV6_POOL.into())),
        _ => Ok((subnet6, gateway6)),
    }
}

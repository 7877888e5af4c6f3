//! The macvlan and ipvlan drivers (netavark's `NetworkDriver` shape:
//! validate and prepare at `network create`, a link per container at
//! attach): a container gets a child link of a host "parent" interface and
//! sits straight on the parent's segment, no bridge, no NAT.
//!
//! Docker's rules: `parent=IF` must exist; `parent=IF.VLAN` makes the
//! 802.1Q sub-interface (removed with the network); no parent makes a
//! dummy `dm-<id12>` (`di-` for ipvlan). One network per parent.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rtnetlink::packet_route::link::{InfoKind, IpVlanMode, MacVlanMode};
use wharf_store::networks::NetworkRecord;

use crate::manage::{CreateNetwork, Networking};
use crate::netlink::{self, LowerKind, Netlink};
use crate::subnet::Subnet;
use crate::{NetResult, NetworkError};

/// Option key recording that wharf made the parent link (a VLAN
/// sub-interface or a dummy), so `network rm` deletes it; never shown.
pub(crate) const CREATED_PARENT: &str = "wharf.created_parent";

/// Whether `driver` is one of these drivers.
pub fn is_lower(driver: &str) -> bool {
    matches!(driver, "macvlan" | "ipvlan")
}

/// The child link kind of a network, from its driver and `*_mode` option.
pub(crate) fn kind_of(driver: &str, options: &BTreeMap<String, String>) -> NetResult<LowerKind> {
    if driver == "ipvlan" {
        let mode = options.get("ipvlan_mode").map_or("l2", String::as_str);
        return Ok(LowerKind::IpVlan(match mode {
            "" | "l2" => IpVlanMode::L2,
            "l3" => IpVlanMode::L3,
            "l3s" => IpVlanMode::L3S,
            m => {
                return Err(NetworkError::Invalid(format!(
                "requested ipvlan mode '{m}' is not valid, 'l2' mode is the ipvlan driver default"
            )))
            }
        }));
    }
    let mode = options.get("macvlan_mode").map_or("bridge", String::as_str);
    Ok(LowerKind::MacVlan(match mode {
        "" | "bridge" => MacVlanMode::Bridge,
        "private" => MacVlanMode::Private,
        "vepa" => MacVlanMode::Vepa,
        "passthru" => MacVlanMode::Passthrough,
        m => {
            return Err(NetworkError::Invalid(format!(
                "requested macvlan mode '{m}' is not valid, 'bridge' mode is the macvlan driver default"
            )))
        }
    }))
}

/// Whether containers of a network can reach a DNS server on its segment:
/// `private` children reach no sibling, `passthru` allows one child only.
pub(crate) fn has_dns(kind: LowerKind) -> bool {
    !matches!(
        kind,
        LowerKind::MacVlan(MacVlanMode::Private | MacVlanMode::Passthrough)
    )
}

fn parse_options(net: &NetworkRecord) -> BTreeMap<String, String> {
    serde_json::from_str(&net.options).unwrap_or_default()
}

/// The parent link of a lower network and its child kind.
pub(crate) fn parent_of(net: &NetworkRecord) -> NetResult<(String, LowerKind)> {
    let opts = parse_options(net);
    let parent = opts
        .get("parent")
        .cloned()
        .unwrap_or_else(|| dummy_name(net));
    Ok((parent, kind_of(&net.driver, &opts)?))
}

fn dummy_name(net: &NetworkRecord) -> String {
    dummy_for(&net.driver, &net.id)
}

fn dummy_for(driver: &str, id: &str) -> String {
    let p = if driver == "ipvlan" { "di" } else { "dm" };
    format!("{p}-{}", &id[..12.min(id.len())])
}

/// The address the network's DNS server answers on: the subnet's last
/// usable one, kept out of the containers' pool. The host cannot reach its
/// own macvlan children, so the server listens from a namespace of its own
/// with a child link on the parent (see `dns::ensure_server`).
pub(crate) fn dns_address(subnet: &Subnet) -> Option<Ipv4Addr> {
    let last = u32::from(subnet.last());
    (subnet.prefix <= 29).then(|| Ipv4Addr::from(last - 1))
}

/// Where the DNS namespace of network `id` of store `root` is pinned.
pub(crate) fn dns_netns_path(root: &Path, id: &str) -> PathBuf {
    root.join("network").join(format!("dns-{id}.ns"))
}

/// What `network create` must make for the parent, decided before
/// anything is made.
pub(crate) enum ParentPlan {
    Exists,
    Vlan { name: String, base: u32, id: u16 },
    Dummy(String),
}

/// The one line a user gets where this kernel lacks a link type.
fn missing(net: &str, what: &str, why: &str) -> NetworkError {
    NetworkError::Invalid(format!(
        "network {net}: this kernel has no {what} support ({why}), the network cannot be created"
    ))
}

impl Networking<'_> {
    /// Validate a macvlan/ipvlan `network create`: its mode, the kernel's
    /// support (probed once, only for the link types it needs), and its
    /// parent. Nothing is made yet.
    pub(crate) fn plan_lower(&self, req: &CreateNetwork) -> NetResult<ParentPlan> {
        kind_of(&req.driver, &req.options)?;
        let nl = Netlink::new()?;
        if req.driver == "ipvlan" && !nl.has_link_kind(InfoKind::IpVlan)? {
            return Err(missing(&req.name, "ipvlan", "CONFIG_IPVLAN"));
        }
        if req.driver == "macvlan" && !nl.has_link_kind(InfoKind::MacVlan)? {
            return Err(missing(&req.name, "macvlan", "CONFIG_MACVLAN"));
        }
        let parent = req.options.get("parent").filter(|p| !p.is_empty());
        let name = parent
            .cloned()
            .unwrap_or_else(|| dummy_for(&req.driver, &req.id));
        for other in self.list()? {
            if is_lower(&other.driver) && parent_of(&other)?.0 == name {
                return Err(NetworkError::Conflict(format!(
                    "network {} is already using parent interface {name}",
                    dummy_name(&other)
                )));
            }
        }
        let Some(parent) = parent else {
            if !nl.has_link_kind(InfoKind::Dummy)? {
                return Err(missing(
                    &req.name,
                    "dummy link",
                    "CONFIG_DUMMY, for the parent of a network without -o parent=",
                ));
            }
            return Ok(ParentPlan::Dummy(name));
        };
        if nl.link_index(parent)?.is_some() {
            return Ok(ParentPlan::Exists);
        }
        let bad = || {
            NetworkError::Invalid(format!(
                "invalid subinterface vlan name {parent}, example formatting is eth0.10"
            ))
        };
        let (base, id) = parent.rsplit_once('.').ok_or_else(bad)?;
        let id: u16 = id
            .parse()
            .ok()
            .filter(|v| (1..=4094).contains(v))
            .ok_or_else(bad)?;
        let base_index = nl.link_index(base)?.ok_or_else(|| {
            NetworkError::NotFound(format!(
                "-o parent interface was not found on the host: {base}"
            ))
        })?;
        if !nl.has_link_kind(InfoKind::Vlan)? {
            return Err(missing(
                &req.name,
                "802.1Q VLAN",
                &format!("CONFIG_VLAN_8021Q, for the sub-interface {parent}"),
            ));
        }
        Ok(ParentPlan::Vlan {
            name: parent.clone(),
            base: base_index,
            id,
        })
    }

    /// Make the parent `plan` asked for; true if wharf made one.
    pub(crate) fn make_parent(&self, plan: &ParentPlan) -> NetResult<bool> {
        let nl = Netlink::new()?;
        match plan {
            ParentPlan::Exists => return Ok(false),
            ParentPlan::Vlan { name, base, id } => nl.add_vlan(name, *base, *id)?,
            ParentPlan::Dummy(name) => nl.add_dummy(name)?,
        }
        Ok(true)
    }

    /// After `network rm`: the parent wharf made goes with its network.
    pub(crate) fn remove_parent(&self, net: &NetworkRecord) -> NetResult<()> {
        if !is_lower(&net.driver) || !parse_options(net).contains_key(CREATED_PARENT) {
            return Ok(());
        }
        Netlink::new()?.delete_link(&parent_of(net)?.0)
    }

    /// Where the namespace holding a lower network's DNS link is pinned.
    pub(crate) fn dns_netns(&self, id: &str) -> PathBuf {
        dns_netns_path(self.root(), id)
    }

    /// The namespace a lower network's DNS server listens from, with its
    /// own child link on the parent (made once, by the first container).
    pub(crate) fn ensure_dns_netns(
        &self,
        nl: &Netlink,
        net: &NetworkRecord,
        subnet: &Subnet,
    ) -> NetResult<Option<Ipv4Addr>> {
        let (parent, kind) = parent_of(net)?;
        let Some(ip) = dns_address(subnet).filter(|_| has_dns(kind)) else {
            return Ok(None);
        };
        let path = self.dns_netns(&net.id);
        if crate::dns::server_pid(self, &net.id).is_some() && path.exists() {
            return Ok(Some(ip));
        }
        netlink::delete_netns(&path);
        std::fs::create_dir_all(self.root().join("network"))
            .map_err(|e| NetworkError::io("creating network/", e))?;
        let parent_index = nl.link_index(&parent)?.ok_or_else(|| {
            NetworkError::NotFound(format!(
                "network {}: parent interface {parent} not found",
                net.name
            ))
        })?;
        netlink::PendingNetns::start().place(&path)?;
        let made = File::open(&path)
            .map_err(|e| NetworkError::io("opening the DNS namespace", e))
            .and_then(|ns| nl.add_lower("dns0", parent_index, kind, &ns, netlink::mac_for(ip)))
            .and_then(|()| {
                netlink::configure_container(
                    &path,
                    "dns0",
                    &[(std::net::IpAddr::V4(ip), subnet.prefix)],
                    None,
                    None,
                )
            });
        if let Err(e) = made {
            netlink::delete_netns(&path);
            return Err(e);
        }
        Ok(Some(ip))
    }
}

/// The address containers of `net` send DNS queries to, if it has a DNS
/// server (user-defined networks).
pub(crate) fn dns_listen(net: &NetworkRecord, a: &crate::attach::Addressing) -> Option<Ipv4Addr> {
    if !is_lower(&net.driver) {
        return Some(a.gateway);
    }
    let (_, kind) = parent_of(net).ok()?;
    dns_address(&a.subnet).filter(|_| has_dns(kind))
}

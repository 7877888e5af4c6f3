//! Bringing a container's networks up before it starts and down after it
//! stops (netavark's model): a network's bridge is made by `network create`
//! (or by its first container after a reboot) and stays with the network,
//! the last container gone stops its DNS server, and the root's nftables table is
//! rebuilt from the store each time. One root's setups and teardowns are
//! serialized by `network.lock` in the root.

use std::collections::HashSet;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use wharf_store::networks::{self, EndpointRecord, NetworkRecord, PortRecord};

use crate::config::{ContainerNetConfig, NetMode};
use crate::ipam::{pick_address, pick_address6};
use crate::manage::Networking;
use crate::netlink::{self, LowerKind, Netlink, PendingNetns, VethPort};
use crate::ports::{reserve, Reservation};
use crate::subnet::{Subnet, Subnet6};
use crate::{files, NetResult, NetworkError};

/// The networks a container was on, kept across the deletion of its rows.
#[derive(Debug, Default)]
pub struct Leaving {
    networks: Vec<String>,
}

/// Where a container's network files live.
#[derive(Debug, Clone)]
pub struct ContainerFiles {
    /// The bind-mounted network namespace.
    pub netns: PathBuf,
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
}

/// What a running container holds: its host port reservations, and until
/// [`Attached::take_wiring`] is run, its links still to make.
#[derive(Default)]
pub struct Attached {
    pub reservations: Vec<Reservation>,
    /// The `port-proxy` processes of IPv6 ports DNAT cannot serve.
    pub proxies: Vec<crate::ports::Proxy>,
    wiring: Option<Wiring>,
    /// The rules' commit, under way (see [`Attached::rules_in_force`]).
    rules: Option<crate::rules::PendingCommit>,
}

impl Attached {
    /// The container's veths, still to be made (see [`Wiring`]).
    pub fn take_wiring(&mut self) -> Option<Wiring> {
        self.wiring.take()
    }

    /// Return once the container's rules (its network's, its ports') are
    /// in force: before it runs. `setup` only started their commit.
    pub fn rules_in_force(&mut self) -> NetResult<()> {
        match self.rules.take() {
            Some(pending) => pending.finish(),
            None => Ok(()),
        }
    }
}

/// The kernel half of attaching a container: its veths, addresses and
/// routes. Everything it needs was decided (and recorded) by `setup`, so
/// it touches no database and may run in a forked process while the
/// container is being built; it must be done before the container runs.
pub struct Wiring {
    netns: PathBuf,
    links: Vec<VethPlan>,
}

pub(crate) struct VethPlan {
    link: LinkPlan,
    iface: String,
    ip: Ipv4Addr,
    prefix: u8,
    gateway: Option<Ipv4Addr>,
    mac: [u8; 6],
    /// `--link-local-ip`s, each a /16 as docker adds them.
    link_local: Vec<Ipv4Addr>,
    /// The IPv6 address and prefix on an IPv6 network, and its gateway.
    ip6: Option<(Ipv6Addr, u8)>,
    gateway6: Option<Ipv6Addr>,
}

/// An endpoint's addresses while its container runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EndpointIps {
    pub ip: Ipv4Addr,
    pub ip6: Option<Ipv6Addr>,
}

/// What the first endpoint of a container gets beyond its address.
#[derive(Default)]
pub(crate) struct Primary<'a> {
    mac: Option<[u8; 6]>,
    link_local: &'a [Ipv4Addr],
}

impl Wiring {
    pub fn run(self) -> NetResult<()> {
        let nl = Netlink::new()?;
        for l in &self.links {
            l.make(&nl, &self.netns)?;
        }
        Ok(())
    }
}

/// How the container's interface is made: a veth on a bridge, or a child
/// of a macvlan/ipvlan network's parent.
enum LinkPlan {
    Veth {
        host: String,
        bridge_index: u32,
        port: VethPort,
    },
    Lower {
        parent_index: u32,
        kind: LowerKind,
    },
}

impl VethPlan {
    pub(crate) fn make(&self, nl: &Netlink, netns: &Path) -> NetResult<()> {
        let ns = File::open(netns).map_err(|e| io("opening the network namespace", e))?;
        match &self.link {
            LinkPlan::Veth {
                host,
                bridge_index,
                port,
            } => nl.add_veth(host, &self.iface, *bridge_index, &ns, self.mac, *port)?,
            LinkPlan::Lower { parent_index, kind } => {
                nl.add_lower(&self.iface, *parent_index, *kind, &ns, self.mac)?
            }
        }
        let mut addrs = vec![(IpAddr::V4(self.ip), self.prefix)];
        addrs.extend(self.link_local.iter().map(|ip| (IpAddr::V4(*ip), 16)));
        addrs.extend(self.ip6.map(|(ip, p)| (IpAddr::V6(ip), p)));
        netlink::configure_container(netns, &self.iface, &addrs, self.gateway, self.gateway6)
    }
}

/// A bridge network's addressing, parsed from its row.
pub(crate) struct Addressing {
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub range: Option<Subnet>,
    /// On an IPv6 network (`--ipv6`): its subnet and gateway (`::1`
    /// unless one was given).
    pub v6: Option<(Subnet6, Ipv6Addr)>,
}

pub(crate) fn addressing(net: &NetworkRecord) -> NetResult<Addressing> {
    let bad = || NetworkError::Invalid(format!("network {} has no valid subnet", net.name));
    let subnet: Subnet = net.subnet.as_deref().ok_or_else(bad)?.parse()?;
    // A macvlan/ipvlan network given no gateway keeps `.1` for the router.
    let gateway = match net.gateway.as_deref() {
        Some(g) => g.parse().ok(),
        None if crate::lower::is_lower(&net.driver) => subnet.nth(1),
        None => None,
    }
    .ok_or_else(bad)?;
    let range = net.ip_range.as_deref().map(str::parse).transpose()?;
    let v6 = match (net.ipv6, net.subnet6.as_deref()) {
        (true, Some(s6)) => {
            let s6: Subnet6 = s6.parse()?;
            let gw = match net.gateway6.as_deref() {
                Some(g) => g.parse().ok(),
                None => s6.nth(1),
            }
            .ok_or_else(bad)?;
            Some((s6, gw))
        }
        _ => None,
    };
    Ok(Addressing {
        subnet,
        gateway,
        range,
        v6,
    })
}

/// The gateway a container on `net` routes through (a macvlan/ipvlan
/// network given none still has its `.1`, as docker's IPAM gives it).
pub fn gateway_of(net: &NetworkRecord) -> Option<Ipv4Addr> {
    addressing(net).ok().map(|a| a.gateway)
}

/// An IPv6 network's subnet and gateway (`None` without `--ipv6`).
pub fn ipv6_of(net: &NetworkRecord) -> Option<(Subnet6, Ipv6Addr)> {
    addressing(net).ok()?.v6
}

/// A network's `--aux-address`es, by name.
pub fn aux_addresses(net: &NetworkRecord) -> std::collections::BTreeMap<String, Ipv4Addr> {
    let opts: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&net.options).unwrap_or_default();
    opts.iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(crate::manage::AUX_ADDRESS)?.to_string(),
                v.parse().ok()?,
            ))
        })
        .collect()
}

fn io(what: &str, e: std::io::Error) -> NetworkError {
    NetworkError::io(what, e)
}

impl Networking<'_> {
    /// Held while this root's networking changes.
    pub(crate) fn lock(&self) -> NetResult<Flock<File>> {
        let path = self.root().join("network.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io("opening network.lock", e))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| io("locking network.lock", e.into()))
    }

    /// Everything a container needs before it starts: its namespace,
    /// addresses, published ports, DNS, /etc/hosts and resolv.conf. On
    /// failure nothing is left behind.
    /// For a bridge, `netns` is the container's namespace in the making
    /// (started as early as the caller could, see [`PendingNetns`]).
    pub fn setup(
        &self,
        id: &str,
        name: &str,
        cfg: &ContainerNetConfig,
        files: &ContainerFiles,
        netns: Option<PendingNetns>,
    ) -> NetResult<Attached> {
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        match &cfg.mode {
            NetMode::Bridge => {}
            NetMode::Host => {
                let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
                std::fs::write(&files.hosts, hosts).map_err(|e| io("writing hosts", e))?;
                std::fs::write(&files.resolv_conf, host_resolv)
                    .map_err(|e| io("writing resolv.conf", e))?;
                return Ok(Attached::default());
            }
            NetMode::None | NetMode::Container(_) => {
                self.write_files(cfg, files, None, None, &host_resolv)?;
                return Ok(Attached::default());
            }
        }
        // A setup that fails leaves nothing behind.
        let undo = || {
            let undone = self
                .release_endpoints(id, files, None)
                .and_then(|nets| self.settle_locked(&nets))
                .and_then(|()| self.commit_rules());
            if let Err(t) = undone {
                tracing::warn!(error = %t, "undoing a failed network setup");
            }
        };
        let lock = self.lock()?;
        let attempt = |netns| {
            let setup = self.setup_locked(id, name, cfg, files, &host_resolv, netns);
            if setup.is_err() {
                undo();
            }
            setup
        };
        let attached = match attempt(netns.unwrap_or_else(PendingNetns::start)) {
            // Once more if the default bridge's subnet had to move (see
            // `repick_default_subnet`): only a failed setup pays the look.
            Err(e) if !self.repick_default_subnet()? => Err(e),
            Err(_) => attempt(PendingNetns::start()),
            ok => ok,
        }?;
        // The table (its `nft` run, 2-20 ms) is committed after the lock
        // is released: containers started together (`compose up`'s
        // replicas) set up one after the other and the first commit to
        // come puts in all their ports, instead of one `nft` run each under
        // the lock. It is only begun here: the container is built
        // meanwhile, and starts once its rules are in force
        // ([`Attached::rules_in_force`]); a failure then fails the start,
        // whose teardown releases what this made.
        drop(lock);
        wharf_failpoint::timeline::mark("net: set up");
        match self.begin_commit() {
            Ok(pending) => Ok(Attached {
                rules: Some(pending),
                ..attached
            }),
            Err(e) => {
                let _lock = self.lock()?;
                undo();
                Err(e)
            }
        }
    }

    fn write_files(
        &self,
        cfg: &ContainerNetConfig,
        files: &ContainerFiles,
        ips: Option<EndpointIps>,
        dns: Option<Ipv4Addr>,
        host_resolv: &str,
    ) -> NetResult<()> {
        let own: Vec<IpAddr> = ips
            .map(|i| [Some(IpAddr::V4(i.ip)), i.ip6.map(IpAddr::V6)])
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        let hosts = files::hosts(&cfg.extra_hosts, &own, &cfg.hostname, &cfg.domainname);
        std::fs::write(&files.hosts, hosts).map_err(|e| io("writing hosts", e))?;
        let resolv = files::resolv_conf(host_resolv, &cfg.dns, dns);
        std::fs::write(&files.resolv_conf, resolv).map_err(|e| io("writing resolv.conf", e))
    }

    fn setup_locked(
        &self,
        id: &str,
        name: &str,
        cfg: &ContainerNetConfig,
        files: &ContainerFiles,
        host_resolv: &str,
        netns: PendingNetns,
    ) -> NetResult<Attached> {
        let (eps, first) = self.store.read(|tx| {
            let eps = networks::endpoints_of(tx, id)?;
            let first = match eps.first() {
                Some(e) => networks::get(tx, &e.network_id)?,
                None => None,
            };
            Ok((eps, first))
        })?;
        let dual = first
            .as_ref()
            .is_some_and(|n| n.ipv6 && n.subnet6.is_some());
        // `host_binding_ipv4`: the network's address for ports given none.
        let binding = first
            .as_ref()
            .and_then(|n| crate::bridge_opts::of(n).host_binding);
        let publish: Vec<_> = cfg
            .publish
            .iter()
            .cloned()
            .map(|mut b| {
                b.host_ip = b.host_ip.or(binding);
                b
            })
            .collect();
        let (published, reservations) = reserve(&publish, name, dual)?;
        let nl = Netlink::new()?;
        let mut first_ip = None;
        let mut dns = None;
        let mut links = Vec::new();
        for (i, ep) in eps.iter().enumerate() {
            let primary = Primary {
                mac: cfg.mac_address,
                link_local: &cfg.link_local_ips,
            };
            let primary = if i == 0 { primary } else { Primary::default() };
            let (net, ips, link) = self.plan_endpoint(&nl, ep, i == 0, primary)?;
            links.push(link);
            if i == 0 {
                first_ip = Some(ips);
            }
            if dns.is_none() && !self.is_default_bridge(&net) {
                dns = crate::lower::dns_listen(&net, &addressing(&net)?);
            }
        }
        let ports: Vec<PortRecord> = published
            .iter()
            .map(|p| PortRecord {
                container_id: id.to_string(),
                proto: p.proto.clone(),
                container_port: p.container_port,
                host_ip: p.host_ip.to_string(),
                host_port: p.host_port,
            })
            .collect();
        self.store.write(|tx| networks::set_ports(tx, id, &ports))?;
        // Committed by `setup` once the lock is released.
        self.want_rules()?;
        let mut proxies = Vec::new();
        if let Some(ips) = first_ip {
            for (p, r) in published.iter().zip(&reservations) {
                let (true, Reservation::Tcp(listener)) =
                    (crate::ports::needs_proxy(p, ips.ip6.is_some()), r)
                else {
                    continue;
                };
                let to = match ips.ip6 {
                    Some(v6) => std::net::SocketAddr::new(IpAddr::V6(v6), p.container_port),
                    None => std::net::SocketAddr::new(IpAddr::V4(ips.ip), p.container_port),
                };
                proxies.push(crate::ports::start_proxy(
                    &self.exe,
                    self.root(),
                    listener,
                    to,
                )?);
            }
        }
        self.write_files(cfg, files, first_ip, dns, host_resolv)?;
        netns.place(&files.netns)?;
        Ok(Attached {
            reservations,
            proxies,
            wiring: Some(Wiring {
                netns: files.netns.clone(),
                links,
            }),
            rules: None,
        })
    }

    pub(crate) fn is_default_bridge(&self, net: &NetworkRecord) -> bool {
        net.name == "bridge"
    }

    /// Give one endpoint an address, its network a bridge (and DNS
    /// server), and the container a veth on it.
    pub(crate) fn attach_endpoint(
        &self,
        nl: &Netlink,
        ep: &EndpointRecord,
        files: &ContainerFiles,
        default_route: bool,
    ) -> NetResult<(NetworkRecord, EndpointIps)> {
        let (net, ips, link) = self.plan_endpoint(nl, ep, default_route, Primary::default())?;
        link.make(nl, &files.netns)?;
        Ok((net, ips))
    }

    /// [`Networking::attach_endpoint`] but for the veth, which is planned.
    fn plan_endpoint(
        &self,
        nl: &Netlink,
        ep: &EndpointRecord,
        default_route: bool,
        primary: Primary,
    ) -> NetResult<(NetworkRecord, EndpointIps, VethPlan)> {
        let ip = self.store.write(|tx| {
            let net = networks::get(tx, &ep.network_id)?.ok_or_else(|| {
                wharf_store::StoreError::NotFound(format!("network {} not found", ep.network_id))
            })?;
            let a =
                addressing(&net).map_err(|e| wharf_store::StoreError::NotFound(e.to_string()))?;
            let used = used_addresses(tx, &net, &a, Some(&ep.container_id))?;
            let ip = match ep.ip_requested.as_deref() {
                Some(req) => {
                    let ip: Ipv4Addr = req.parse().map_err(|_| {
                        wharf_store::StoreError::Conflict(format!("invalid IPv4 address: {req}"))
                    })?;
                    if used.contains(&ip) || ip == a.gateway || !a.subnet.contains(ip) {
                        return Err(wharf_store::StoreError::Conflict(format!(
                            "Address already in use or not in the network's subnet: {ip}"
                        )));
                    }
                    ip
                }
                None => free_address(&net, &a, &used)?,
            };
            let ip6 = match a.v6 {
                Some((s6, gw6)) => {
                    let on = networks::endpoints_on(tx, &net.id)?;
                    Some(pick_ip6(&on, &net, ep, s6, gw6)?)
                }
                None => None,
            };
            let mac = netlink::format_mac(primary.mac.unwrap_or_else(|| netlink::mac_for(ip)));
            networks::set_endpoint_address(
                tx,
                &ep.container_id,
                &net.id,
                Some(&ip.to_string()),
                Some(&mac),
            )?;
            let ip6_text = ip6.map(|i: Ipv6Addr| i.to_string());
            networks::set_endpoint_ip6(tx, &ep.container_id, &net.id, ip6_text.as_deref())?;
            Ok((net, EndpointIps { ip, ip6 }))
        });
        let (net, ips) = ip.map_err(address_error)?;
        let link = self.plan_link(
            nl,
            &net,
            ips,
            (&ep.container_id, ep.seq),
            default_route,
            primary,
        )?;
        Ok((net, ips, link))
    }

    /// The link of an endpoint with addresses `ips` on `net`, for owner
    /// `(id, n)` (its `n`th network): the network's bridge (and DNS
    /// server) brought up if need be, the veth or lower link planned.
    pub(crate) fn plan_link(
        &self,
        nl: &Netlink,
        net: &NetworkRecord,
        ips: EndpointIps,
        (owner, seq): (&str, i64),
        default_route: bool,
        primary: Primary,
    ) -> NetResult<VethPlan> {
        let a = addressing(net)?;
        let ip = ips.ip;
        let routed = default_route && !net.internal;
        let plan = |link| VethPlan {
            link,
            iface: format!("eth{seq}"),
            ip,
            prefix: a.subnet.prefix,
            gateway: routed.then_some(a.gateway),
            mac: primary.mac.unwrap_or_else(|| netlink::mac_for(ip)),
            link_local: primary.link_local.to_vec(),
            ip6: ips.ip6.zip(a.v6.map(|(s, _)| s.prefix)),
            // A macvlan network's IPv6 router is the segment's, if given.
            gateway6: a
                .v6
                .filter(|_| routed)
                .map(|(_, g)| g)
                .filter(|_| !crate::lower::is_lower(&net.driver) || net.gateway6.is_some()),
        };
        if crate::lower::is_lower(&net.driver) {
            let (parent, kind) = crate::lower::parent_of(net)?;
            let parent_index = nl.link_index(&parent)?.ok_or_else(|| {
                NetworkError::NotFound(format!(
                    "network {}: parent interface {parent} not found",
                    net.name
                ))
            })?;
            if self.ensure_dns_netns(nl, net, &a.subnet)?.is_some() {
                crate::dns::ensure_server(self, net)?;
            }
            return Ok(plan(LinkPlan::Lower { parent_index, kind }));
        }
        // Not beside the bridge's making: a bridge's registration waits
        // for nftables' commit lock, which `iptables-restore` holds through
        // its commit (tried: the bridge took 3.3 ms instead of 0.6).
        let bridge_index = self.ensure_bridge(nl, net, &a)?;
        wharf_failpoint::timeline::mark("net: bridge up");
        crate::docker_compat::allow(net.bridge.as_deref().unwrap_or_default());
        wharf_failpoint::timeline::mark("net: docker's chain allows it");
        let opts = crate::bridge_opts::of(net);
        let link = plan(LinkPlan::Veth {
            host: self.names.veth(owner, seq as usize),
            bridge_index,
            port: VethPort {
                mtu: opts.mtu,
                isolated: !opts.icc,
            },
        });
        if !self.is_default_bridge(net) {
            crate::dns::ensure_server(self, net)?;
        }
        Ok(link)
    }

    /// A bridge network's bridge, made (with its sysctls) if it is not up
    /// (made at `network create`, it is gone after a reboot); returns its
    /// link index.
    pub(crate) fn ensure_bridge(
        &self,
        nl: &Netlink,
        net: &NetworkRecord,
        a: &Addressing,
    ) -> NetResult<u32> {
        let bridge = net.bridge.clone().unwrap_or_default();
        if let Some(index) = nl.link_index(&bridge)? {
            nl.pin_bridge_address(&bridge, index)?;
            return Ok(index);
        }
        self.check_routes(&bridge, &a.subnet, &net.name)?;
        let mtu = crate::bridge_opts::of(net).mtu;
        let index = nl.add_bridge(&bridge, a.gateway, a.subnet.prefix, a.v6, mtu)?;
        netlink::sysctl(&format!("net/ipv4/conf/{bridge}/route_localnet"), "1")?;
        netlink::sysctl("net/ipv4/ip_forward", "1")?;
        if a.v6.is_some() {
            netlink::sysctl("net/ipv6/conf/all/forwarding", "1")?;
        }
        Ok(index)
    }

    /// A subnet routed through some other interface would shadow (or be
    /// shadowed by) ours: refuse to bring the bridge up.
    pub(crate) fn check_routes(&self, bridge: &str, subnet: &Subnet, name: &str) -> NetResult<()> {
        if let Some((dev, r)) = crate::ipam::host_routes()
            .into_iter()
            .find(|(dev, r)| dev != bridge && r.overlaps(subnet))
        {
            return Err(NetworkError::Conflict(format!(
                "network {name}: subnet {subnet} overlaps with route {r} on {dev}"
            )));
        }
        Ok(())
    }

    /// Release what `setup` made: ports, addresses, the namespace and its
    /// veths, and bridges (and DNS servers) no container uses any more.
    pub fn teardown(&self, id: &str, files: &ContainerFiles) -> NetResult<()> {
        let nets = {
            let _lock = self.lock()?;
            self.release_endpoints(id, files, None)?
        };
        self.settle(&nets)
    }

    /// The networks container `id` is on, for [`Networking::teardown_left`]
    /// once its rows (endpoints, ports) are deleted.
    pub fn leaving(&self, id: &str) -> NetResult<Leaving> {
        let eps = self.store.read(|tx| networks::endpoints_of(tx, id))?;
        Ok(Leaving {
            networks: eps.into_iter().map(|e| e.network_id).collect(),
        })
    }

    /// [`Networking::teardown`] of a container whose rows may be gone.
    pub fn teardown_left(&self, id: &str, files: &ContainerFiles, left: &Leaving) -> NetResult<()> {
        let nets = {
            let _lock = self.lock()?;
            wharf_failpoint::timeline::mark("net: locked to release");
            self.release_endpoints(id, files, Some(&left.networks))?
        };
        wharf_failpoint::timeline::mark("net: released");
        self.settle(&nets)
    }

    /// A teardown's first half, under the lock: the namespace and the
    /// container's rows (ports, addresses). Returns the networks it left.
    fn release_endpoints(
        &self,
        id: &str,
        files: &ContainerFiles,
        known: Option<&[String]>,
    ) -> NetResult<Vec<String>> {
        netlink::delete_netns(&files.netns);
        let eps = self.store.write(|tx| {
            networks::set_ports(tx, id, &[])?;
            let eps = networks::endpoints_of(tx, id)?;
            for e in &eps {
                networks::set_endpoint_address(tx, id, &e.network_id, None, None)?;
            }
            Ok(eps)
        })?;
        // The veths go with the namespace: the kernel deletes them in the
        // background once its last user (the container) is gone, which
        // spares us a synchronous unregister (~10 ms each).
        // With its rows gone, the container's networks are those kept.
        Ok(match known {
            Some(k) => k.to_vec(),
            None => eps.into_iter().map(|e| e.network_id).collect(),
        })
    }

    /// A teardown's second half, under the lock taken again: the bridges
    /// of `nets` no container uses any more go, and the table is rebuilt.
    /// Taking the lock twice lets the teardowns of containers stopped
    /// together (`compose down`'s replicas) release their rows first, so
    /// the first to get here rebuilds the table for all of them and the
    /// others find it as they need it (`apply_rules` skips an unchanged
    /// ruleset): one `nft` run rather than one per container.
    /// The table is committed after the lock is released (see
    /// [`Networking::commit_rules`]).
    fn settle(&self, nets: &[String]) -> NetResult<()> {
        {
            let _lock = self.lock()?;
            wharf_failpoint::timeline::mark("net: locked to settle");
            self.settle_locked(nets)?;
        }
        self.commit_rules()
    }

    /// [`Networking::settle`] with the lock held: the table wanted now
    /// recorded, not committed.
    fn settle_locked(&self, nets: &[String]) -> NetResult<()> {
        let active = self.store.read(|tx| networks::active_endpoints(tx))?;
        let mut down = Vec::new();
        for network_id in nets {
            if active.iter().any(|a| &a.network_id == network_id) {
                continue;
            }
            if let Some(net) = self.store.read(|tx| networks::get(tx, network_id))? {
                down.push(net);
            }
        }
        // The rules of a network without active endpoints are left out.
        self.want_rules()?;
        for net in &down {
            self.bring_down(net);
        }
        wharf_failpoint::timeline::mark("net: brought down");
        Ok(())
    }

    /// The addresses a container has now, per network ID.
    pub fn addresses(&self, id: &str) -> NetResult<Vec<EndpointRecord>> {
        Ok(self.store.read(|tx| networks::endpoints_of(tx, id))?)
    }
}

/// The IPv4 addresses taken on `net`: its endpoints' (but those of
/// container `except`, being planned), build steps', its aux addresses
/// and, on a macvlan/ipvlan segment, its DNS server's.
pub(crate) fn used_addresses(
    tx: &wharf_store::rusqlite::Connection,
    net: &NetworkRecord,
    a: &Addressing,
    except: Option<&str>,
) -> wharf_store::StoreResult<HashSet<Ipv4Addr>> {
    let mut used: HashSet<Ipv4Addr> = networks::endpoints_on(tx, &net.id)?
        .iter()
        .filter(|e| Some(e.container_id.as_str()) != except)
        .filter_map(|e| e.ip.as_deref().and_then(|ip| ip.parse().ok()))
        .collect();
    // A killed build's step keeps its address until it is released (its
    // veth may still be on the bridge).
    used.extend(
        networks::step_endpoints(tx)?
            .iter()
            .filter(|s| s.network_id == net.id)
            .filter_map(|s| s.ip.parse::<Ipv4Addr>().ok()),
    );
    used.extend(aux_addresses(net).into_values());
    used.extend(crate::lower::dns_listen(net, a).filter(|_| crate::lower::is_lower(&net.driver)));
    Ok(used)
}

/// The lowest address of `net` nobody uses.
pub(crate) fn free_address(
    net: &NetworkRecord,
    a: &Addressing,
    used: &HashSet<Ipv4Addr>,
) -> wharf_store::StoreResult<Ipv4Addr> {
    pick_address(&a.subnet, a.range.as_ref(), a.gateway, used).ok_or_else(|| {
        wharf_store::StoreError::Conflict(format!(
            "no available IPv4 addresses on network {}",
            net.name
        ))
    })
}

/// A store error of an address's choice, as the network error it is.
pub(crate) fn address_error(e: wharf_store::StoreError) -> NetworkError {
    match e {
        wharf_store::StoreError::Conflict(m) => NetworkError::Conflict(m),
        wharf_store::StoreError::NotFound(m) => NetworkError::NotFound(m),
        e => e.into(),
    }
}

/// An endpoint's IPv6 address on an IPv6 network: its `--ip6`, or the
/// lowest free one.
fn pick_ip6(
    on_network: &[EndpointRecord],
    net: &NetworkRecord,
    ep: &EndpointRecord,
    subnet: Subnet6,
    gateway: Ipv6Addr,
) -> wharf_store::StoreResult<Ipv6Addr> {
    let used: HashSet<Ipv6Addr> = on_network
        .iter()
        .filter(|e| e.container_id != ep.container_id)
        .filter_map(|e| e.ip6.as_deref().and_then(|ip| ip.parse().ok()))
        .collect();
    match ep.ip6_requested.as_deref() {
        Some(req) => {
            let ip: Ipv6Addr = req.parse().map_err(|_| {
                wharf_store::StoreError::Conflict(format!("invalid IPv6 address: {req}"))
            })?;
            if used.contains(&ip) || ip == gateway || !subnet.contains(ip) {
                return Err(wharf_store::StoreError::Conflict(format!(
                    "Address already in use or not in the network's subnet: {ip}"
                )));
            }
            Ok(ip)
        }
        None => pick_address6(&subnet, gateway, &used).ok_or_else(|| {
            wharf_store::StoreError::Conflict(format!(
                "no available IPv6 addresses on network {}",
                net.name
            ))
        }),
    }
}

//! Links, addresses and routes through rtnetlink, and the container's
//! persistent network namespace.
//!
//! Callers are synchronous (the monitor is single-threaded on purpose), so
//! each [`Netlink`] owns a current-thread tokio runtime, dropped with it —
//! before libcontainer forks. Work inside a container's namespace runs on a
//! short-lived thread that enters it: a netlink socket belongs to the
//! namespace it was opened in, and the monitor's own thread never moves.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::Path;

use futures_util::TryStreamExt;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute};
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth};

use crate::{NetResult, NetworkError};

fn sys(what: impl std::fmt::Display, e: impl std::fmt::Display) -> NetworkError {
    NetworkError::System(format!("{what}: {e}"))
}

/// errno of a netlink error, if it is one.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
        _ => None,
    }
}

/// How a container's veth sits on its bridge.
#[derive(Debug, Clone, Copy, Default)]
pub struct VethPort {
    pub mtu: Option<u32>,
    pub isolated: bool,
}

/// A netlink connection in the namespace of the thread that made it.
pub struct Netlink {
    rt: tokio::runtime::Runtime,
    handle: Handle,
}

impl Netlink {
    pub fn new() -> NetResult<Netlink> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| NetworkError::io("starting the netlink runtime", e))?;
        let (conn, handle, _) = {
            let _guard = rt.enter();
            rtnetlink::new_connection().map_err(|e| NetworkError::io("opening netlink", e))?
        };
        rt.spawn(conn);
        Ok(Netlink { rt, handle })
    }

    pub fn link_index(&self, name: &str) -> NetResult<Option<u32>> {
        let h = self.handle.clone();
        let name = name.to_string();
        self.rt.block_on(async move {
            let mut links = h.link().get().match_name(name.clone()).execute();
            match links.try_next().await {
                Ok(link) => Ok(link.map(|l| l.header.index)),
                Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
                Err(e) => Err(sys(format!("looking up link {name}"), e)),
            }
        })
    }

    /// Every link's name.
    pub fn link_names(&self) -> NetResult<Vec<String>> {
        let h = self.handle.clone();
        self.rt.block_on(async move {
            let mut links = h.link().get().execute();
            let mut out = Vec::new();
            while let Some(l) = links
                .try_next()
                .await
                .map_err(|e| sys("listing links", e))?
            {
                for a in l.attributes {
                    if let LinkAttribute::IfName(n) = a {
                        out.push(n);
                    }
                }
            }
            Ok(out)
        })
    }

    /// Add `ip/prefix` to link `index`. An IPv6 address skips duplicate
    /// address detection (docker's `nodad`): the segment is ours, and a
    /// tentative address would refuse connections for a second or two.
    fn add_address(&self, index: u32, ip: IpAddr, prefix: u8) -> Result<(), rtnetlink::Error> {
        use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags};
        let mut req = self.handle.address().add(index, ip, prefix);
        if ip.is_ipv6() {
            req.message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        self.rt.block_on(req.execute())
    }

    /// Make the bridge `name` with `gateway/prefix` (and the IPv6 gateway
    /// of `v6`), up; the caller found it missing (under the network lock).
    pub fn add_bridge(
        &self,
        name: &str,
        gateway: Ipv4Addr,
        prefix: u8,
        v6: Option<(crate::subnet::Subnet6, Ipv6Addr)>,
        mtu: Option<u32>,
    ) -> NetResult<u32> {
        let h = self.handle.clone();
        let n = name.to_string();
        // An address of its own, as docker gives its bridges: a bridge
        // without one takes the lowest of its ports' (the host ends of the
        // veths), so it changed as containers came and went, and a
        // container that had learnt the gateway's old MAC sent its DNS
        // queries nowhere until its neighbour entry expired (seconds).
        let mut bridge = LinkBridge::new(&n).address(bridge_mac(name).to_vec()).up();
        if let Some(m) = mtu {
            bridge = bridge.mtu(m);
        }
        self.rt.block_on(async move {
            h.link()
                .add(bridge.build())
                .execute()
                .await
                .map_err(|e| sys(format!("creating bridge {n}"), e))
        })?;
        let index = self
            .link_index(name)?
            .ok_or_else(|| sys(format!("creating bridge {name}"), "it vanished"))?;
        self.add_address(index, IpAddr::V4(gateway), prefix)
            .map_err(|e| sys(format!("adding {gateway}/{prefix} to {name}"), e))?;
        if let Some((s6, gw6)) = v6 {
            self.add_address(index, IpAddr::V6(gw6), s6.prefix)
                .map_err(|e| sys(format!("adding {gw6}/{} to {name}", s6.prefix), e))?;
        }
        Ok(index)
    }

    /// Give bridge `name` (link `index`) an address of its own if it has
    /// none (one made by an older wharf, see [`Netlink::add_bridge`]): it
    /// keeps the one it has now, so its running containers' neighbour
    /// entries stay right; an all-zero one (an empty bridge's) is replaced.
    /// Every start on a bridge comes here: one read of sysfs decides.
    pub(crate) fn pin_bridge_address(&self, name: &str, index: u32) -> NetResult<()> {
        let class = Path::new("/sys/class/net").join(name);
        let read = |f: &str| std::fs::read_to_string(class.join(f)).unwrap_or_default();
        if read("addr_assign_type").trim() == NET_ADDR_SET {
            return Ok(());
        }
        let mac = crate::config::parse_mac(read("address").trim())
            .filter(|m| m != &[0; 6])
            .unwrap_or_else(|| bridge_mac(name));
        let h = self.handle.clone();
        self.rt
            .block_on(async move {
                let msg = LinkUnspec::new_with_index(index)
                    .address(mac.to_vec())
                    .build();
                h.link().set(msg).execute().await
            })
            .map_err(|e| sys(format!("setting {name}'s address"), e))
    }

    /// Delete a link; a missing one is fine.
    pub fn delete_link(&self, name: &str) -> NetResult<()> {
        let Some(index) = self.link_index(name)? else {
            return Ok(());
        };
        let h = self.handle.clone();
        self.rt.block_on(async move {
            match h.link().del(index).execute().await {
                Err(e) if errno(&e) != Some(libc::ENODEV) => {
                    Err(sys(format!("deleting link {}", index), e))
                }
                _ => Ok(()),
            }
        })
    }

    /// Bring link `name` down (a missing one is fine): its routes leave
    /// the tables at once (~0.1 ms), where its deletion takes 35–50 ms.
    pub fn set_down(&self, name: &str) -> NetResult<()> {
        let h = self.handle.clone();
        let n = name.to_string();
        let down = self.rt.block_on(async move {
            let msg = LinkUnspec::new_with_name(&n).down().build();
            h.link().set(msg).execute().await
        });
        match down {
            Err(e) if errno(&e) != Some(libc::ENODEV) => {
                Err(sys(format!("bringing {name} down"), e))
            }
            _ => Ok(()),
        }
    }

    /// A veth pair: `host` on `bridge` (hairpin on, so a container reaches
    /// its own published ports; `isolated` from the bridge's other
    /// isolated ports for `enable_icc=false`), its peer `inside` in the
    /// namespace `netns`; both with `port.mtu` if set.
    pub fn add_veth(
        &self,
        host: &str,
        inside: &str,
        bridge: u32,
        netns: &File,
        mac: [u8; 6],
        port: VethPort,
    ) -> NetResult<()> {
        let mut peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(inside.to_string())
            .address(mac.to_vec())
            .setns_by_fd(netns.as_raw_fd());
        let mut msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(host.to_string())
            .controller(bridge)
            .up();
        if let Some(m) = port.mtu {
            peer = peer.mtu(m);
            msg = msg.mtu(m);
        }
        let msg = msg
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
            .build();
        let add = |msg: rtnetlink::packet_route::link::LinkMessage| {
            let h = self.handle.clone();
            self.rt
                .block_on(async move { h.link().add(msg).execute().await })
        };
        match add(msg.clone()) {
            // The name is the container's own: a link that has it is the
            // previous run's, still there because the kernel frees that
            // run's namespace (and so the pair) asynchronously after a stop
            // (seen once in `restart -t 0`). Delete it and make the pair.
            Err(e) if errno(&e) == Some(libc::EEXIST) => {
                self.delete_link(host)?;
                add(msg).map_err(|e| sys(format!("creating veth {host}"), e))?;
            }
            other => other.map_err(|e| sys(format!("creating veth {host}"), e))?,
        }
        let index = self
            .link_index(host)?
            .ok_or_else(|| sys(format!("creating veth {host}"), "it vanished"))?;
        let h = self.handle.clone();
        self.rt.block_on(async move {
            h.link()
                .set_port(
                    LinkBridgePort::new(index)
                        .hairpin(true)
                        .isolated(port.isolated)
                        .build(),
                )
                .execute()
                .await
                .map_err(|e| sys("setting hairpin mode", e))
        })
    }

    /// Inside a container's namespace: loopback and `iface` up, its
    /// address, and the default route through `gateway` (if any).
    fn configure_inside(
        &self,
        iface: &str,
        addrs: &[(IpAddr, u8)],
        gateway: Option<Ipv4Addr>,
        gateway6: Option<Ipv6Addr>,
    ) -> NetResult<()> {
        for name in ["lo", iface] {
            // A macvlan child cannot come up while another child of the
            // same parent holds its MAC (EADDRINUSE). wharf derives the MAC
            // from the address, and the previous holder of a reused address
            // (a removed container's or network DNS's child) goes only when
            // the kernel frees its namespace, asynchronously, some ms after
            // the unmount. Wait for it, 2 s at most (seen in bench/network.sh:
            // `network rm`, then `network create` and `run` at once).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            loop {
                let h = self.handle.clone();
                let up = self.rt.block_on(async move {
                    h.link()
                        .set(LinkUnspec::new_with_name(name).up().build())
                        .execute()
                        .await
                });
                match up {
                    Ok(()) => break,
                    Err(e)
                        if errno(&e) == Some(libc::EADDRINUSE)
                            && std::time::Instant::now() < deadline =>
                    {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(e) => return Err(sys(format!("bringing {name} up"), e)),
                }
            }
        }
        let eth0 = self
            .link_index(iface)?
            .ok_or_else(|| sys("configuring the container's network", format!("no {iface}")))?;
        for &(ip, prefix) in addrs {
            self.add_address(eth0, ip, prefix)
                .map_err(|e| sys(format!("adding {ip}/{prefix} to {iface}"), e))?;
        }
        let routes = [
            gateway.map(|gw| {
                let r = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw);
                (IpAddr::V4(gw), r.output_interface(eth0).build())
            }),
            gateway6.map(|gw| {
                let r = rtnetlink::RouteMessageBuilder::<Ipv6Addr>::new().gateway(gw);
                (IpAddr::V6(gw), r.output_interface(eth0).build())
            }),
        ];
        for (gw, route) in routes.into_iter().flatten() {
            let h = self.handle.clone();
            self.rt
                .block_on(async move { h.route().add(route).execute().await })
                .map_err(|e| sys(format!("adding the default route via {gw}"), e))?;
        }
        Ok(())
    }
}

/// Configure the container side from a thread inside `netns`.
/// `addrs`: the endpoint's address first, then any more (`--link-local-ip`).
pub fn configure_container(
    netns: &Path,
    iface: &str,
    addrs: &[(IpAddr, u8)],
    gateway: Option<Ipv4Addr>,
    gateway6: Option<Ipv6Addr>,
) -> NetResult<()> {
    let ns = File::open(netns)
        .map_err(|e| NetworkError::io(format!("opening {}", netns.display()), e))?;
    let iface = iface.to_string();
    let addrs = addrs.to_vec();
    std::thread::spawn(move || {
        setns(&ns, CloneFlags::CLONE_NEWNET)
            .map_err(|e| sys("entering the container's network namespace", e))?;
        Netlink::new()?.configure_inside(&iface, &addrs, gateway, gateway6)
    })
    .join()
    .map_err(|_| sys("configuring the container's network", "the thread panicked"))?
}

/// A new network namespace, made by a helper thread while the caller goes
/// on (the kernel takes about a millisecond to set one up); [`place`]
/// pins it on its path. Dropped unplaced, the namespace goes away.
///
/// [`place`]: PendingNetns::place
pub struct PendingNetns(Option<std::thread::JoinHandle<NetResult<File>>>);

impl PendingNetns {
    pub fn start() -> PendingNetns {
        PendingNetns(Some(std::thread::spawn(|| -> NetResult<File> {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| sys("creating a network namespace", e))?;
            // The thread's own namespace, held open past the thread's end.
            File::open("/proc/thread-self/ns/net")
                .map_err(|e| NetworkError::io("opening the new network namespace", e))
        })))
    }

    /// Wait for the namespace and bind-mount it on `path`.
    pub fn place(mut self, path: &Path) -> NetResult<()> {
        let ns = self.wait()?;
        File::create(path)
            .map_err(|e| NetworkError::io(format!("creating {}", path.display()), e))?;
        let source = format!("/proc/self/fd/{}", ns.as_raw_fd());
        mount(
            Some(source.as_str()),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            let _ = std::fs::remove_file(path);
            sys(
                format!("bind-mounting the network namespace on {}", path.display()),
                e,
            )
        })
    }

    fn wait(&mut self) -> NetResult<File> {
        self.0
            .take()
            .ok_or_else(|| sys("creating a network namespace", "already placed"))?
            .join()
            .map_err(|_| sys("creating a network namespace", "the thread panicked"))?
    }
}

impl Drop for PendingNetns {
    /// Never leave the thread running: the caller may fork next.
    fn drop(&mut self) {
        if self.0.is_some() {
            let _ = self.wait();
        }
    }
}

/// Unmount and remove a namespace placed by [`PendingNetns::place`]; its links go with it.
pub fn delete_netns(path: &Path) {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unmounting a network namespace")
        }
    }
    let _ = std::fs::remove_file(path);
}

/// Write a sysctl under /proc/sys (e.g. `net/ipv4/ip_forward`).
pub fn sysctl(key: &str, value: &str) -> NetResult<()> {
    let path = Path::new("/proc/sys").join(key);
    std::fs::write(&path, value)
        .map_err(|e| NetworkError::io(format!("setting {}", path.display()), e))
}

/// `addr_assign_type` of a link whose address was set explicitly
/// (`NET_ADDR_SET`): a bridge's then no longer follows its ports'.
const NET_ADDR_SET: &str = "3";

/// Bridge `name`'s own address: locally administered, unicast, and the
/// same whenever the bridge is made again (after a reboot, `system check
/// --repair`), so nothing that learnt it goes stale.
pub fn bridge_mac(name: &str) -> [u8; 6] {
    use sha2::Digest;
    let h = sha2::Sha256::digest(name.as_bytes());
    [(h[0] & 0xfc) | 0x02, h[1], h[2], h[3], h[4], h[5]]
}

/// Docker's MAC for an address: 02:42 then the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The link a container gets on a macvlan or ipvlan network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerKind {
    MacVlan(rtnetlink::packet_route::link::MacVlanMode),
    IpVlan(rtnetlink::packet_route::link::IpVlanMode),
}

impl Netlink {
    /// Whether this kernel knows link type `kind` (`ipvlan`, `vlan`,
    /// `dummy`, …): a bare RTM_NEWLINK of that kind is answered
    /// EOPNOTSUPP only when the kernel has no such driver (after trying to
    /// load its module); with the driver, it fails validation (no parent)
    /// or, for a kind that needs nothing, makes a link deleted at once.
    pub fn has_link_kind(&self, kind: InfoKind) -> NetResult<bool> {
        let name = format!("wharfprobe{}", std::process::id() % 100_000);
        let msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(kind)
            .name(name.clone())
            .build();
        let h = self.handle.clone();
        let made = self
            .rt
            .block_on(async move { h.link().add(msg).execute().await });
        match made {
            Ok(()) => {
                self.delete_link(&name)?;
                Ok(true)
            }
            Err(e) if errno(&e) == Some(libc::EOPNOTSUPP) => Ok(false),
            Err(_) => Ok(true),
        }
    }

    /// An 802.1Q sub-interface `name` of `parent`, up.
    pub fn add_vlan(&self, name: &str, parent: u32, vlan: u16) -> NetResult<()> {
        let msg = rtnetlink::LinkVlan::new(name, parent, vlan).up().build();
        self.add_link(msg, format!("creating vlan link {name}"))
    }

    /// A dummy link `name`, up (the parent of a macvlan network given none).
    pub fn add_dummy(&self, name: &str) -> NetResult<()> {
        let msg = rtnetlink::LinkDummy::new(name).up().build();
        self.add_link(msg, format!("creating dummy link {name}"))
    }

    /// Bring link `name` up.
    pub fn set_up(&self, name: &str) -> NetResult<()> {
        let h = self.handle.clone();
        let n = name.to_string();
        self.rt
            .block_on(async move {
                h.link()
                    .set(LinkUnspec::new_with_name(&n).up().build())
                    .execute()
                    .await
            })
            .map_err(|e| sys(format!("bringing {name} up"), e))
    }

    /// A macvlan or ipvlan child of link `parent`, made straight inside
    /// the namespace `netns` as `inside` (ipvlan children share the
    /// parent's MAC, so `mac` is for macvlan only).
    pub fn add_lower(
        &self,
        inside: &str,
        parent: u32,
        kind: LowerKind,
        netns: &File,
        mac: [u8; 6],
    ) -> NetResult<()> {
        let msg = match kind {
            LowerKind::MacVlan(mode) => rtnetlink::LinkMacVlan::new(inside, parent, mode)
                .address(mac.to_vec())
                .setns_by_fd(netns.as_raw_fd())
                .build(),
            LowerKind::IpVlan(mode) => rtnetlink::LinkIpVlan::new(inside, parent, mode)
                .setns_by_fd(netns.as_raw_fd())
                .build(),
        };
        self.add_link(msg, format!("creating {kind:?} link {inside}"))
    }

    /// Send one RTM_NEWLINK; `what` names it in the error.
    fn add_link(
        &self,
        msg: rtnetlink::packet_route::link::LinkMessage,
        what: String,
    ) -> NetResult<()> {
        let h = self.handle.clone();
        self.rt
            .block_on(async move { h.link().add(msg).execute().await })
            .map_err(|e| sys(what, e))
    }
}

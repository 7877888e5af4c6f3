//! Address management: subnets for networks, addresses for containers.
//!
//! Subnets come from docker's default pool (each /16 of 172.17–172.31, then
//! the /20s of 192.168.0.0/16), skipping any that overlaps a host route or
//! a subnet another wharf network holds — in this root or any other, so
//! the choice is made under a host-wide lock and recorded in a host-wide
//! registry (`/run/wharf/subnets`). Entries of store roots that no longer
//! exist (a test's temporary root) are dropped as they are found.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::subnet::{AnySubnet, Subnet, Subnet6};
use crate::{NetResult, NetworkError};

/// Host-wide state shared by every store root.
pub const RUN_DIR: &str = "/run/wharf";

/// Docker's default address pools, in its order.
pub fn default_pool() -> impl Iterator<Item = Subnet> {
    let big = (17..=31).map(|b| Subnet::new(Ipv4Addr::new(172, b, 0, 0), 16));
    let small = (0..16).map(|n| Subnet::new(Ipv4Addr::new(192, 168, n * 16, 0), 20));
    big.chain(small)
}

/// The IPv4 routes of the host's main table (`/proc/net/route`), except
/// the default route, with the device they go through.
pub fn host_routes() -> Vec<(String, Subnet)> {
    let text = fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The file holds addresses in host byte order of a little-endian u32.
            let dest = Ipv4Addr::from(dest.swap_bytes());
            let prefix = mask.count_ones() as u8;
            (prefix > 0).then(|| (f[0].to_string(), Subnet::new(dest, prefix)))
        })
        .collect()
}

/// The IPv6 routes of the host (`/proc/net/ipv6_route`) a new subnet
/// must not overlap: not the default route, not loopback's, link-local or
/// multicast ones.
pub fn host_routes6() -> Vec<(String, Subnet6)> {
    let text = fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = Ipv6Addr::from(u128::from_str_radix(f.first()?, 16).ok()?);
            let prefix = u8::from_str_radix(f.get(1)?, 16).ok()?;
            let dev = f.get(9)?.to_string();
            let special = dest.is_multicast() || (dest.segments()[0] & 0xffc0) == 0xfe80;
            (prefix > 0 && dev != "lo" && !special).then(|| (dev, Subnet6::new(dest, prefix)))
        })
        .collect()
}

/// One registry line: a subnet and the store root whose network holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    subnet: AnySubnet,
    root: PathBuf,
}

/// The host-wide subnet registry, locked while held.
pub struct Registry {
    path: PathBuf,
    entries: Vec<Entry>,
    /// Whether this is the host's registry ([`RUN_DIR`]). Only it knows
    /// every living root, so only it may judge a wharf bridge dead (and
    /// delete it): to another one (a test's), every root is unknown, and
    /// every bridge on the host would look like a dead root's.
    host: bool,
    _lock: Flock<fs::File>,
}

impl Registry {
    pub fn open() -> NetResult<Registry> {
        Registry::open_in(Path::new(RUN_DIR), true)
    }

    /// The registry kept in `dir`; `host`: see [`Registry::host`].
    fn open_in(dir: &Path, host: bool) -> NetResult<Registry> {
        fs::create_dir_all(dir)
            .map_err(|e| NetworkError::io(format!("creating {}", dir.display()), e))?;
        let lock_path = dir.join("subnets.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| NetworkError::io(format!("opening {}", lock_path.display()), e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| NetworkError::io("locking the subnet registry", e.into()))?;
        let path = dir.join("subnets");
        let entries = fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (subnet, root) = l.split_once(' ')?;
                Some(Entry {
                    subnet: subnet.parse().ok()?,
                    root: PathBuf::from(root),
                })
            })
            // A root that is gone holds nothing any more.
            .filter(|e| e.root.join("db.sqlite").exists())
            .collect();
        Ok(Registry {
            path,
            entries,
            host,
            _lock: lock,
        })
    }

    fn save(&self) -> NetResult<()> {
        let tmp = self.path.with_extension("tmp");
        let mut text = String::new();
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.subnet, e.root.display()));
        }
        let mut f = fs::File::create(&tmp)
            .map_err(|e| NetworkError::io("writing the subnet registry", e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| NetworkError::io("writing the subnet registry", e))?;
        fs::rename(&tmp, &self.path).map_err(|e| NetworkError::io("writing the subnet registry", e))
    }

    /// What a new subnet must not overlap: every registered subnet and
    /// every host route not on one of `own_links`.
    /// A wharf bridge whose subnet no living root holds is a dead root's
    /// (roots keep their default bridge, see `Networking::bring_down`): it
    /// is deleted with its root's rules, and its subnet is free.
    fn taken(&self, own_links: &dyn Fn(&str) -> bool) -> Vec<AnySubnet> {
        let mut out: Vec<AnySubnet> = self.entries.iter().map(|e| e.subnet).collect();
        let mut stale = Vec::new();
        for (dev, s) in host_routes() {
            if own_links(&dev) {
                continue;
            }
            match self.dead_bridge(&dev, s) {
                Some(table) => stale.push((dev, table)),
                None => out.push(AnySubnet::V4(s)),
            }
        }
        if !stale.is_empty() {
            reclaim(&stale);
        }
        out.extend(
            host_routes6()
                .into_iter()
                .filter(|(dev, _)| !own_links(dev))
                .map(|(_, s)| AnySubnet::V6(s)),
        );
        out
    }

    /// The table of the root that owned `dev`, a link routing `s`, if it
    /// is a dead root's wharf bridge: no living root holds its subnet.
    fn dead_bridge(&self, dev: &str, s: Subnet) -> Option<String> {
        if !self.host {
            return None;
        }
        crate::names::root_table_of(dev)
            .filter(|_| !self.entries.iter().any(|e| e.subnet == AnySubnet::V4(s)))
    }

    /// The dead roots' bridges in the kernel (see `taken`), with their
    /// roots' tables; not one of `own_links`.
    pub(crate) fn dead_bridges(&self, own_links: &dyn Fn(&str) -> bool) -> Vec<(String, String)> {
        host_routes()
            .into_iter()
            .filter(|(dev, _)| !own_links(dev))
            .filter_map(|(dev, s)| self.dead_bridge(&dev, s).map(|t| (dev, t)))
            .collect()
    }

    /// The names of the living roots: those holding a subnet (a root
    /// makes no bridge, table or rule before it holds one).
    pub(crate) fn living_roots(&self) -> Vec<crate::names::RootNames> {
        let mut roots: Vec<&Path> = self.entries.iter().map(|e| e.root.as_path()).collect();
        roots.sort();
        roots.dedup();
        roots
            .into_iter()
            .map(crate::names::RootNames::new)
            .collect()
    }

    /// Reserve the IPv6 subnet `requested` (docker 20.10 has no default
    /// IPv6 pool: `--ipv6` needs one given).
    pub fn allocate6(
        &mut self,
        root: &Path,
        requested: Subnet6,
        own_links: &dyn Fn(&str) -> bool,
    ) -> NetResult<Subnet6> {
        let any = AnySubnet::V6(requested);
        if self.taken(own_links).iter().any(|t| t.overlaps(&any)) {
            return Err(NetworkError::Conflict(
                "Pool overlaps with other one on this address space".into(),
            ));
        }
        self.entries.push(Entry {
            subnet: any,
            root: root.to_path_buf(),
        });
        self.save()?;
        Ok(requested)
    }

    /// Reserve `requested` (docker's error if it overlaps), or the first
    /// free subnet of the default pool, for a network of `root`.
    pub fn allocate(
        &mut self,
        root: &Path,
        requested: Option<Subnet>,
        own_links: &dyn Fn(&str) -> bool,
    ) -> NetResult<Subnet> {
        let taken = self.taken(own_links);
        let subnet = match requested {
            Some(s) => {
                if taken.iter().any(|t| t.overlaps(&AnySubnet::V4(s))) {
                    return Err(NetworkError::Conflict(
                        "Pool overlaps with other one on this address space".into(),
                    ));
                }
                s
            }
            None => default_pool()
                .find(|s| !taken.iter().any(|t| t.overlaps(&AnySubnet::V4(*s))))
                .ok_or_else(|| {
                    NetworkError::Conflict(
                        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
                    )
                })?,
        };
        self.entries.push(Entry {
            subnet: AnySubnet::V4(subnet),
            root: root.to_path_buf(),
        });
        self.save()?;
        Ok(subnet)
    }

    /// The subnets (of both families) reserved for networks of `root`.
    pub fn subnets_of(&self, root: &Path) -> Vec<AnySubnet> {
        self.entries
            .iter()
            .filter(|e| e.root == root)
            .map(|e| e.subnet)
            .collect()
    }

    /// Give a subnet back (its network is removed).
    pub fn release(&mut self, root: &Path, subnet: impl Into<AnySubnet>) -> NetResult<()> {
        let subnet = subnet.into();
        let before = self.entries.len();
        self.entries
            .retain(|e| !(e.subnet == subnet && e.root == root));
        if self.entries.len() != before {
            self.save()?;
        }
        Ok(())
    }
}

/// Delete dead roots' bridges (name, their root's nftables table), with
/// docker's rules for them and the tables; whether all went.
pub(crate) fn reclaim(stale: &[(String, String)]) -> bool {
    let Ok(nl) = crate::netlink::Netlink::new() else {
        return false;
    };
    let mut ok = true;
    for (dev, table) in stale {
        tracing::info!(bridge = %dev, "deleting the bridge of a store root that is gone");
        ok &= crate::rules::delete_bridge_link(&nl, dev).is_ok();
        ok &= crate::nft::delete_table(table).is_ok();
    }
    ok
}

/// The lowest free IPv6 address for a container (docker's order: `::2`
/// on, the gateway and the subnet-router anycast `::` skipped).
pub fn pick_address6(
    subnet: &Subnet6,
    gateway: Ipv6Addr,
    used: &HashSet<Ipv6Addr>,
) -> Option<Ipv6Addr> {
    (1..=used.len() as u128 + 2)
        .filter_map(|n| subnet.nth(n))
        .find(|ip| *ip != gateway && !used.contains(ip))
}

/// The lowest free address for a container: inside `range` (or the whole
/// subnet), not the gateway, not one of `used`.
pub fn pick_address(
    subnet: &Subnet,
    range: Option<&Subnet>,
    gateway: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let pool = range.unwrap_or(subnet);
    let size = 1u64 << (32 - pool.prefix as u32);
    (0..size)
        .filter_map(|n| pool.nth(n as u32))
        .filter(|ip| subnet.contains(*ip) && *ip != subnet.addr && *ip != subnet.last())
        .find(|ip| *ip != gateway && !used.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry other than the host's knows none of the host's roots:
    /// the wharf bridges it meets are not its to call dead. (The suite's
    /// own run of the test above deleted every root's bridge on the host,
    /// the user's `wharf0` too, and the builds of tests running beside it
    /// lost their network.) Runs alone (`.config/nextest.toml`): the
    /// bridge it makes looks like a dead root's to any `system check`.
    #[test]
    fn a_registry_not_the_hosts_deletes_no_bridge() {
        struct Gone(&'static str);
        impl Drop for Gone {
            fn drop(&mut self) {
                if let Ok(nl) = crate::netlink::Netlink::new() {
                    let _ = nl.delete_link(self.0);
                }
            }
        }
        // Named as a root's network bridge (`wb` + tag + `-`).
        let bridge = Gone("wbfffff-ipamt");
        let nl = crate::netlink::Netlink::new().unwrap();
        nl.add_bridge(bridge.0, Ipv4Addr::new(10, 223, 77, 1), 24, None, None)
            .unwrap();
        assert!(host_routes().iter().any(|(dev, _)| dev == bridge.0));
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("db.sqlite"), b"").unwrap();
        let none = |_: &str| false;
        let mut reg = Registry::open_in(&dir.path().join("run"), false).unwrap();
        let taken: Subnet = "10.223.77.0/24".parse().unwrap();
        let err = reg.allocate(&root, Some(taken), &none).unwrap_err();
        assert!(err.to_string().contains("Pool overlaps"), "{err}");
        assert!(reg.dead_bridges(&none).is_empty());
        assert!(
            nl.link_index(bridge.0).unwrap().is_some(),
            "the host's bridge was deleted"
        );
    }

    #[test]
    fn pool_skips_taken_subnets_and_forgets_dead_roots() {
        let dir = tempfile::tempdir().unwrap();
        let root_a = dir.path().join("a");
        let root_b = dir.path().join("b");
        for r in [&root_a, &root_b] {
            fs::create_dir_all(r).unwrap();
            fs::write(r.join("db.sqlite"), b"").unwrap();
        }
        let none = |_: &str| false;
        let mut reg = Registry::open_in(&dir.path().join("run"), false).unwrap();
        let first = reg.allocate(&root_a, None, &none).unwrap();
        let second = reg.allocate(&root_b, None, &none).unwrap();
        assert_ne!(first, second);
        assert!(!host_routes().iter().any(|(_, r)| r.overlaps(&first)));
        let err = reg
            .allocate(&root_b, Some(first), &none)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Pool overlaps"), "{err}");
        drop(reg);
        // Root a is deleted: its subnet is free again.
        fs::remove_dir_all(&root_a).unwrap();
        let mut reg = Registry::open_in(&dir.path().join("run"), false).unwrap();
        assert_eq!(reg.allocate(&root_b, None, &none).unwrap(), first);
        reg.release(&root_b, first).unwrap();
        reg.release(&root_b, second).unwrap();
        assert!(reg.entries.is_empty());
        let six: Subnet6 = "fd77:1::/64".parse().unwrap();
        reg.allocate6(&root_b, six, &none).unwrap();
        let err = reg.allocate6(&root_b, six, &none).unwrap_err();
        assert!(err.to_string().contains("Pool overlaps"), "{err}");
        reg.release(&root_b, six).unwrap();
        assert!(reg.entries.is_empty());
    }

    #[test]
    fn addresses_skip_gateway_and_used() {
        let s: Subnet = "10.9.0.0/29".parse().unwrap();
        let gw = Ipv4Addr::new(10, 9, 0, 1);
        let mut used = HashSet::new();
        assert_eq!(
            pick_address(&s, None, gw, &used),
            Some(Ipv4Addr::new(10, 9, 0, 2))
        );
        used.insert(Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(
            pick_address(&s, None, gw, &used),
            Some(Ipv4Addr::new(10, 9, 0, 3))
        );
        let range: Subnet = "10.9.0.4/30".parse().unwrap();
        assert_eq!(
            pick_address(&s, Some(&range), gw, &used),
            Some(Ipv4Addr::new(10, 9, 0, 4))
        );
        for n in 3..7 {
            used.insert(Ipv4Addr::new(10, 9, 0, n));
        }
        assert_eq!(pick_address(&s, None, gw, &used), None);
    }
}

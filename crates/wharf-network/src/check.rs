//! `system check` of a root's networking: the kernel objects and host-wide
//! records that should exist are those the store's running endpoints need
//! (bridges, veths, the nftables table, DNS servers, subnet reservations);
//! anything else of this root is a leftover of a killed process.

use std::collections::HashSet;

use wharf_store::networks;
use wharf_store::Finding;

use crate::ipam::Registry;
use crate::manage::Networking;
use crate::netlink::Netlink;
use crate::subnet::AnySubnet;
use crate::NetResult;

impl Networking<'_> {
    /// Compare the kernel and the host-wide registry with the store; with
    /// `repair`, delete what nothing needs and rebuild the rules.
    pub fn check(&self, repair: bool) -> NetResult<Vec<Finding>> {
        let _lock = if repair { Some(self.lock()?) } else { None };
        let (nets, active) = self
            .store
            .read(|tx| Ok((networks::list(tx)?, networks::active_endpoints(tx)?)))?;
        let used: HashSet<&str> = active.iter().map(|e| e.network_id.as_str()).collect();
        // Killed builds' steps first: their namespaces (and so veths) go.
        let mut out = self.check_steps(repair)?;

        // Links: the bridges of the networks (a user-defined network's
        // lives as long as it does; every root's idle default bridge is
        // kept with its rules as docker keeps docker0, until `system
        // prune`), veths of containers whose network is up.
        let nl = Netlink::new()?;
        let wanted_bridges: HashSet<String> =
            nets.iter().filter_map(|n| n.bridge.clone()).collect();
        let default_bridge_kept = nets
            .iter()
            .filter(|n| self.is_default_bridge(n))
            .filter_map(|n| n.bridge.as_deref())
            .any(link_exists);
        // Build steps on the default bridge whose build runs have veths
        // too (a killed build's are leftovers, see `check_steps`).
        let steps = self.live_steps()?;
        let veth_prefix = format!("wv{}", self.names.tag);
        let mut unwanted = Vec::new();
        for link in nl.link_names()? {
            if !self.names.owns_link(&link) {
                continue;
            }
            let wanted = match link.strip_prefix(&veth_prefix) {
                // `wv<tag><n><container id prefix>`
                Some(rest) => rest.get(1..).is_some_and(|cid| {
                    active.iter().any(|e| e.container_id.starts_with(cid))
                        || steps.iter().any(|s| s.step_id.starts_with(cid))
                }),
                None => wanted_bridges.contains(&link),
            };
            if !wanted {
                unwanted.push(link);
            }
        }
        // A stopped container's veth goes with its namespace, which the
        // kernel frees in the background: give that a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while unwanted
            .iter()
            .any(|l| l.starts_with(&veth_prefix) && link_exists(l))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for link in unwanted.into_iter().filter(|l| link_exists(l)) {
            let f = Finding::leftover(format!("link {link}"), "no running container uses it");
            // A bridge goes with docker's rules for it (a veth has none).
            let deleted = || crate::rules::delete_bridge_link(&nl, &link).is_ok();
            out.push(f.repaired_if(repair && deleted()));
        }

        // The nftables table exists exactly while a network is up or the
        // kept default bridge is.
        let table = self.names.table();
        let exists = crate::nft::table_exists(&table);
        let needed = default_bridge_kept || nets.iter().any(|n| used.contains(n.id.as_str()));
        if exists != needed {
            let f = if exists {
                Finding::leftover(format!("nftables table inet {table}"), "no network is up")
            } else {
                Finding::error(
                    format!("nftables table inet {table}"),
                    "missing while containers' networks are up",
                )
            };
            out.push(f.repaired_if(repair && self.reapply_rules().is_ok()));
        }

        // DNS servers run for networks with running containers only.
        let dir = self.root().join("network");
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix("dns-")
                .and_then(|n| n.strip_suffix(".pid"))
            else {
                continue;
            };
            let Some(pid) = crate::dns::server_pid(self, id) else {
                continue;
            };
            if !used.contains(id) {
                let f = Finding::leftover(
                    format!("DNS server {pid} of network {id}"),
                    "no running container is on its network",
                );
                out.push(f.repaired_if(
                    repair && {
                        crate::dns::stop_server(self, id);
                        true
                    },
                ));
            }
        }

        // Subnet reservations of this root that no network holds.
        let mut registry = Registry::open()?;
        let held: Vec<AnySubnet> = nets
            .iter()
            .flat_map(|n| [n.subnet.as_deref(), n.subnet6.as_deref()])
            .flatten()
            .filter_map(|s| s.parse().ok())
            .collect();
        for subnet in registry.subnets_of(self.root()) {
            if !held.contains(&subnet) {
                let f = Finding::leftover(
                    format!("subnet {subnet}"),
                    "reserved for this root, but no network has it",
                );
                out.push(f.repaired_if(repair && registry.release(self.root(), subnet).is_ok()));
            }
        }
        drop(registry);

        // What this root's networks and dead roots left on the host.
        out.extend(self.check_host(&wanted_bridges, repair)?);
        Ok(out)
    }

    /// Rebuild the nftables table even if the last one applied looks the same.
    fn reapply_rules(&self) -> NetResult<()> {
        let _ = std::fs::remove_file(crate::nft::applied(&self.names.table()));
        self.apply_rules()
    }
}

pub(crate) fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

//! `system check`'s host-wide half: what wharf leaves in the kernel beside
//! a root's own bookkeeping — docker's DOCKER-USER rules (and the markers
//! saying a bridge has them) for a bridge no network holds any more, and
//! the bridges and nftables tables of store roots that are gone.
//!
//! Another living root's objects are its own to judge: its processes may
//! be making or removing them right now. A root is living while the
//! subnet registry lists it (it holds a subnet before it makes any bridge,
//! table or rule). A bridge still in the kernel is a dead root's by the
//! registry's own rule (no living root holds its subnet; the next
//! allocation would delete it anyway); a rule, marker or table is a dead
//! root's when no living root's names cover it and no bridge of its name
//! (its tag, for a table) is left.

use std::collections::{BTreeMap, HashSet};

use wharf_store::Finding;

use crate::check::link_exists;
use crate::docker_compat::{self, UserRule};
use crate::ipam::Registry;
use crate::manage::Networking;
use crate::names::root_table_of;
use crate::NetResult;

/// Whether `table` has the name of a wharf root's table.
fn is_wharf_table(table: &str) -> bool {
    table == "wharf" || root_table_of(table).as_deref() == Some(table)
}

impl Networking<'_> {
    /// Find (with `repair`, delete) this root's rules for bridges none of
    /// its networks (`wanted`: their bridges) has, and dead roots' objects.
    pub(crate) fn check_host(
        &self,
        wanted: &HashSet<String>,
        repair: bool,
    ) -> NetResult<Vec<Finding>> {
        let mut out = Vec::new();
        // Held throughout: no other root allocates (or reclaims) meanwhile.
        let registry = Registry::open()?;
        let living = registry.living_roots();
        let own = |name: &str| self.names.owns_link(name);
        let dead_name = |name: &str| {
            root_table_of(name).is_some() && !own(name) && !living.iter().any(|r| r.owns_link(name))
        };

        for (dev, table) in registry.dead_bridges(&own) {
            let f = Finding::leftover(
                format!("link {dev}"),
                "a wharf bridge whose subnet no living store root holds",
            );
            out.push(f.repaired_if(repair && crate::ipam::reclaim(&[(dev, table)])));
        }

        // docker's chain, when it has one (docker ran since the boot).
        if let Some(rules) = docker_compat::rules() {
            out.extend(self.check_docker_rules(rules, wanted, &dead_name, repair));
        }

        // Dead roots' tables, and the records of the rules last applied
        // to them (which would keep a root of the same path from making
        // its table again).
        let with_bridge: HashSet<String> = std::fs::read_dir("/sys/class/net")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| root_table_of(&e.file_name().to_string_lossy()))
            .collect();
        let records: Vec<String> = std::fs::read_dir(crate::ipam::RUN_DIR)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".nft").map(str::to_string)
            })
            .collect();
        let tables = crate::nft::tables();
        let mut names: Vec<&String> = tables.iter().chain(&records).collect();
        names.sort();
        names.dedup();
        for table in names {
            let dead = is_wharf_table(table)
                && *table != self.names.table()
                && !living.iter().any(|r| r.table() == *table)
                && !with_bridge.contains(table);
            if !dead {
                continue;
            }
            let why = "its store root is gone";
            let f = if tables.contains(table) {
                let f = Finding::leftover(format!("nftables table inet {table}"), why);
                f.repaired_if(repair && crate::nft::delete_table(table).is_ok())
            } else {
                let record = crate::nft::applied(table);
                let f = Finding::leftover(format!("file {}", record.display()), why);
                f.repaired_if(repair && std::fs::remove_file(record).is_ok())
            };
            out.push(f);
        }
        Ok(out)
    }

    /// The DOCKER-USER part of [`Networking::check_host`], given the rules
    /// of our shape in docker's chain.
    fn check_docker_rules(
        &self,
        rules: Vec<UserRule>,
        wanted: &HashSet<String>,
        dead_name: &dyn Fn(&str) -> bool,
        repair: bool,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        // Stale: this root's, for a bridge none of its networks has; a dead
        // root's, its bridge gone (one still there went with its rules
        // above, or is a living root's).
        let stale = |bridge: &str| {
            if wanted.contains(bridge) {
                None
            } else if self.names.owns_link(bridge) {
                Some("no network of this store root has the bridge")
            } else if dead_name(bridge) && !link_exists(bridge) {
                Some("the bridge and its store root are gone")
            } else {
                None
            }
        };
        let mut by_bridge: BTreeMap<String, Vec<UserRule>> = BTreeMap::new();
        for r in rules {
            by_bridge.entry(r.bridge.clone()).or_default().push(r);
        }
        for (bridge, rules) in &by_bridge {
            let Some(why) = stale(bridge) else { continue };
            let specs: Vec<&str> = rules.iter().map(|r| r.spec.as_str()).collect();
            let f = Finding::leftover(
                format!("iptables DOCKER-USER rules {}", specs.join(", ")),
                why,
            );
            out.push(f.repaired_if(repair && docker_compat::remove(rules)));
        }
        // Markers: a bridge of ours whose rules are missing has its
        // forwarded traffic dropped by docker; a gone bridge's marker
        // would keep a new bridge of that name from getting its rules.
        for bridge in docker_compat::marked() {
            if by_bridge.contains_key(&bridge) {
                continue;
            }
            if wanted.contains(&bridge) && link_exists(&bridge) {
                let f = Finding::error(
                    format!("bridge {bridge}"),
                    "its rules are missing from docker's DOCKER-USER chain (docker drops its forwarded traffic)",
                );
                out.push(f.repaired_if(
                    repair && docker_compat::unmark(&bridge) && docker_compat::allow(&bridge),
                ));
            } else if stale(&bridge).is_some() && !link_exists(&bridge) {
                let f = Finding::leftover(
                    format!("file {}", docker_compat::marker(&bridge).display()),
                    "it marks a bridge that is gone as having docker's rules",
                );
                out.push(f.repaired_if(repair && docker_compat::unmark(&bridge)));
            }
        }
        out
    }
}

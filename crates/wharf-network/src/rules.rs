//! A root's bridges and nftables table as the store says they should be:
//! bridges of idle user-defined networks go, every root keeps its default
//! bridge; the table is rebuilt from what runs and what is kept.

use std::net::IpAddr;
use std::path::Path;

use wharf_store::networks::{self, NetworkRecord};

use crate::attach::addressing;
use crate::manage::Networking;
use crate::netlink::Netlink;
use crate::nft::{self, BridgeRules, PortRule};
use crate::NetResult;

impl Networking<'_> {
    /// An unused network's DNS server stops (and a macvlan/ipvlan
    /// network's namespace for it goes). Bridges stay: a user-defined
    /// network's as long as the network (see `create`), and every root
    /// keeps its idle default bridge (`wharf0`, `wharf-<tag>`), with its
    /// rules, as docker keeps `docker0`: making and deleting it around
    /// each container of an otherwise idle root cost ~20 ms (a private
    /// root's ~80 ms: the bridge, its sysctls, docker's DOCKER-USER rules,
    /// the nftables table, and their removal under the network lock the
    /// next container waits for). `system prune` removes that one.
    pub(crate) fn bring_down(&self, net: &NetworkRecord) {
        if !self.is_default_bridge(net) {
            self.stop_dns(net);
        }
    }

    fn stop_dns(&self, net: &NetworkRecord) {
        crate::dns::stop_server(self, &net.id);
        if crate::lower::is_lower(&net.driver) {
            crate::netlink::delete_netns(&self.dns_netns(&net.id));
        }
    }

    pub(crate) fn delete_bridge(&self, nl: &Netlink, net: &NetworkRecord) -> NetResult<()> {
        if let Some(bridge) = &net.bridge {
            delete_bridge_link(nl, bridge)?;
        }
        self.stop_dns(net);
        Ok(())
    }

    /// [`Networking::delete_bridge`] for a network being removed, out of
    /// its remover's way: the bridge goes down here, which takes its
    /// routes out at once (its subnet may be used again right away), and
    /// a detached `wharf network-unlink` deletes it and docker's rules for
    /// it. The kernel's unregister of a bridge waits out RCU grace periods
    /// (35–50 ms here, on 6.18, for an idle bridge), and docker's rules
    /// wait for any nftables commit in flight (the last container's
    /// teardown commits one as the network is removed): up to 30 ms more.
    /// `system check` finds a bridge whose helper died (a leftover link).
    pub(crate) fn delete_removed_bridge(&self, nl: &Netlink, net: &NetworkRecord) -> NetResult<()> {
        if let Some(bridge) = &net.bridge {
            nl.set_down(bridge)?;
            // `--root`, though it needs none: whoever waits for this
            // root's processes (the tests' `settled`) sees this one too.
            let root = self.root().to_string_lossy();
            let args = ["--root", &root, "network-unlink", bridge];
            if !wharf_store::detached::spawn(&self.exe, &args) {
                delete_bridge_link(nl, bridge)?;
            }
        }
        self.stop_dns(net);
        Ok(())
    }

    /// Bring down the networks no running container (or build step)
    /// uses, and delete the default bridge if it is idle (what `system
    /// prune` does for the default root's `wharf0`).
    pub fn prune_idle(&self) -> NetResult<()> {
        let _lock = self.lock()?;
        let active = self.store.read(|tx| networks::active_endpoints(tx))?;
        let steps = self.live_steps()?;
        let nl = Netlink::new()?;
        for net in self.list()? {
            let busy = active.iter().any(|a| a.network_id == net.id)
                || steps.iter().any(|s| s.network_id == net.id);
            if busy {
                continue;
            }
            match self.is_default_bridge(&net) {
                true => self.delete_bridge(&nl, &net)?,
                false => self.bring_down(&net),
            }
        }
        self.apply_rules()
    }

    /// Rebuild the root's nftables table from the store (the caller holds
    /// the network lock).
    pub(crate) fn apply_rules(&self) -> NetResult<()> {
        self.want_rules()?;
        self.commit_rules()
    }

    /// Record the table the store asks for now as the one wanted (the
    /// caller holds the network lock, so each record is newer than the
    /// last); [`Networking::commit_rules`] puts it in the kernel, under
    /// the network lock or after it has been released.
    pub(crate) fn want_rules(&self) -> NetResult<()> {
        let (nets, active, ports) = self.store.read(|tx| {
            Ok((
                networks::list(tx)?,
                networks::active_endpoints(tx)?,
                networks::ports(tx, None)?,
            ))
        })?;
        let mut bridges = Vec::new();
        for n in &nets {
            // A kept bridge keeps its rules: the next container on it
            // finds the table as it needs it (see `bring_down`).
            let kept = self.is_default_bridge(n)
                && n.bridge
                    .as_deref()
                    .is_some_and(|b| Path::new("/sys/class/net").join(b).exists());
            if !kept && !active.iter().any(|e| e.network_id == n.id) {
                continue;
            }
            let (Some(bridge), Ok(a)) = (&n.bridge, addressing(n)) else {
                continue;
            };
            bridges.push(BridgeRules {
                bridge: bridge.clone(),
                subnet: a.subnet,
                subnet6: a.v6.map(|(s, _)| s),
                internal: n.internal,
                masquerade: crate::bridge_opts::of(n).masquerade,
            });
        }
        let mut rules = Vec::new();
        for p in ports {
            // A container's ports go to its first network's address, of
            // the host address's family (an IPv6 port of a container
            // without IPv6 is the port-proxy's).
            let Ok(host_ip) = p.host_ip.parse::<IpAddr>() else {
                continue;
            };
            let first = active
                .iter()
                .filter(|e| e.container_id == p.container_id)
                .min_by_key(|e| e.seq);
            let target = match host_ip {
                IpAddr::V4(_) => first.and_then(|e| e.ip.as_deref()),
                IpAddr::V6(h) if h.is_loopback() => None,
                IpAddr::V6(_) => first.and_then(|e| e.ip6.as_deref()),
            };
            let Some(container_ip) = target.and_then(|ip| ip.parse().ok()) else {
                continue;
            };
            rules.push(PortRule {
                proto: p.proto,
                host_ip: (!host_ip.is_unspecified()).then_some(host_ip),
                host_port: p.host_port,
                container_ip,
                container_port: p.container_port,
            });
        }
        let text = nft::ruleset(&self.names.table(), &bridges, &rules).to_string();
        let path = self.wanted_rules();
        // Most starts and stops change nothing (no published port, the
        // network already up): no write on that path.
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            return Ok(());
        }
        // Whole or not at all: written aside, then renamed over the last.
        let io = |e| crate::NetworkError::io("recording the wanted nftables rules", e);
        let tmp = path.with_extension(format!("want.{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Where the newest table wanted is kept: in the root, which it
    /// describes (and goes with).
    fn wanted_rules(&self) -> std::path::PathBuf {
        self.root().join("network.want")
    }

    /// Put the newest wanted table (see [`Networking::want_rules`]) in
    /// the kernel, unless it is there already. Commits are serialized by
    /// a lock of their own, and each applies the newest record, never the
    /// one its caller made: a commit that comes late finds a newer one in
    /// force and does nothing, so the kernel never goes back to an older
    /// table. This lets a container's teardown run `nft` (10-20 ms) after
    /// it has released the network lock, which `network rm` (`compose
    /// down`) then need not wait for.
    pub(crate) fn commit_rules(&self) -> NetResult<()> {
        self.begin_commit()?.finish()
    }

    /// [`Networking::commit_rules`] in two halves: the `nft` run started
    /// here, its commit confirmed by [`PendingCommit::finish`]. A start
    /// builds its container meanwhile (the first container of a root
    /// creates its table: ~4 ms of `nft` beside libcontainer's ~4 ms).
    /// The commit lock is held until then.
    pub(crate) fn begin_commit(&self) -> NetResult<PendingCommit> {
        let table = self.names.table();
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root().join("network.commit.lock"))
            .map_err(|e| crate::NetworkError::io("opening network.commit.lock", e))?;
        let commit = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| crate::NetworkError::io("locking network.commit.lock", e.into()))?;
        // Nothing to commit: the lock goes at once (a start holds a
        // pending commit until its container is built).
        let done = || PendingCommit {
            _commit: None,
            run: None,
            text: String::new(),
            applied: None,
        };
        let Ok(text) = std::fs::read_to_string(self.wanted_rules()) else {
            return Ok(done());
        };
        // The same rules as last time (a container without published ports
        // on a network already up): nothing to do.
        let applied = nft::applied(&table);
        let last = std::fs::read_to_string(&applied).ok();
        if last.as_deref() == Some(text.as_str()) {
            return Ok(done());
        }
        let _ = std::fs::remove_file(&applied);
        // Only rules to add (a start): added to the table in force, which
        // commits without the rebuild's wait (see `nft::appended`); no
        // table yet (a new root, after a prune or a boot): created, without
        // the rebuild's deletion (`nft::created`). Should that fail (the
        // table changed behind our back), it is rebuilt.
        let quick = match last {
            Some(last) => nft::appended(&last, &text),
            None => nft::created(&text),
        };
        let run = match quick.map(|batch| nft::begin(&batch)) {
            Some(Ok(run)) => (run, true),
            _ => (nft::begin(&text)?, false),
        };
        // No bridge up: no table, and no record left behind either.
        let no_table = nft::ruleset(&table, &[], &[]).to_string();
        Ok(PendingCommit {
            _commit: Some(commit),
            run: Some(run),
            applied: (text != no_table).then_some(applied),
            text,
        })
    }
}

/// A commit of the wanted table under way (see
/// [`Networking::begin_commit`]); dropped unfinished, it is finished
/// (its outcome unchecked).
pub struct PendingCommit {
    /// The commit lock, held until the table is in force and recorded.
    _commit: Option<nix::fcntl::Flock<std::fs::File>>,
    /// The `nft` run, and whether it is the quick batch (appended or
    /// created), which a rebuild replaces if it fails.
    run: Option<(nft::Applying, bool)>,
    text: String,
    /// Where to record the table once in force (`None`: no table).
    applied: Option<std::path::PathBuf>,
}

impl PendingCommit {
    /// Return once the table is in force.
    pub fn finish(mut self) -> NetResult<()> {
        self.settle()
    }

    fn settle(&mut self) -> NetResult<()> {
        let Some((run, quick)) = self.run.take() else {
            return Ok(());
        };
        match run.finish() {
            Ok(()) => {}
            Err(_) if quick => nft::apply(&self.text)?,
            Err(e) => return Err(e),
        }
        if let Some(applied) = &self.applied {
            let _ = std::fs::create_dir_all(crate::ipam::RUN_DIR);
            let _ = std::fs::write(applied, &self.text);
        }
        Ok(())
    }
}

impl Drop for PendingCommit {
    fn drop(&mut self) {
        if let Err(e) = self.settle() {
            tracing::warn!(error = %e, "committing nftables rules");
        }
    }
}

/// Delete bridge `name` (a missing one is fine) and docker's rules for it
/// (an `iptables-restore` run, when it has them), side by side with the
/// kernel's unregister: every path that deletes a wharf bridge comes
/// here, so none leaves its rules behind.
pub(crate) fn delete_bridge_link(nl: &Netlink, name: &str) -> NetResult<()> {
    std::thread::scope(|s| {
        s.spawn(|| crate::docker_compat::forget(name));
        nl.delete_link(name)
    })
}

/// The hidden `wharf network-unlink BRIDGE`: delete a bridge of a removed
/// network and docker's rules for it (see `delete_removed_bridge`).
pub fn unlink_bridge(name: &str) -> NetResult<()> {
    delete_bridge_link(&Netlink::new()?, name)
}

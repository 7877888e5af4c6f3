//! Build steps on the default bridge (BuildKit's `--network=default`).
//!
//! A RUN step has no container row, so its endpoint is a row of its own
//! (`step_endpoints`): the address the default bridge's IPAM counts as
//! taken, the namespace it is in, and the PID of the build that holds it.
//! The build makes the namespace and veth before the step's monitor
//! starts and deletes them when the step has exited; the default bridge
//! and its rules are the root's kept ones (see `bring_down`), so a step
//! adds no rule and a step's teardown rebuilds no table. A killed build
//! leaves a row whose owner is dead: the next step's setup (under the
//! network lock) and `system check --repair` delete its namespace (the
//! veth goes with it) and the row.
//!
//! Cost per RUN step, measured with `WHARF_TIMELINE` (marks `build: step
//! network` … `up`, `build: step exited` … `network down`) over 30 steps
//! of a debug build on the 2-core machine at load ~13: setup median 14 ms
//! (3.5 ms at best: the namespace, made beside the lock and the address's
//! choice, the veth and its addresses, a SQLite write), teardown 0.3 ms;
//! a whole `RUN echo` step took ~150 ms there. A cached step does none of
//! it.

use std::net::Ipv4Addr;
use std::path::Path;

use wharf_store::networks::{self, StepEndpointRecord};
use wharf_store::Finding;

use crate::attach::{address_error, addressing, free_address, used_addresses, EndpointIps};
use crate::manage::Networking;
use crate::netlink::{self, Netlink, PendingNetns};
use crate::NetResult;

impl Networking<'_> {
    /// Put build step `step_id` on the default bridge, in a new namespace
    /// bind-mounted at `netns`; returns its address. On failure nothing
    /// is left (no row, no namespace).
    pub fn attach_step(&self, step_id: &str, netns: &Path) -> NetResult<Ipv4Addr> {
        // The kernel takes a while to make a namespace: beside the rest.
        let pending = PendingNetns::start();
        let _lock = self.lock()?;
        self.release_dead_steps()?;
        match self.attach_step_or_undo(step_id, netns, pending) {
            // The default bridge's subnet moved (see `repick_default_subnet`).
            Err(e) if !self.repick_default_subnet()? => Err(e),
            Err(_) => self.attach_step_or_undo(step_id, netns, PendingNetns::start()),
            ok => ok,
        }
    }

    fn attach_step_or_undo(
        &self,
        step_id: &str,
        netns: &Path,
        pending: PendingNetns,
    ) -> NetResult<Ipv4Addr> {
        let attached = self.attach_step_locked(step_id, netns, pending);
        if attached.is_err() {
            if let Err(e) = self.detach_step(step_id, netns) {
                tracing::warn!(error = %e, "undoing a build step's failed network setup");
            }
        }
        attached
    }

    fn attach_step_locked(
        &self,
        step_id: &str,
        netns: &Path,
        pending: PendingNetns,
    ) -> NetResult<Ipv4Addr> {
        let owner = std::process::id() as i32;
        let (net, ip) = self
            .store
            .write(|tx| {
                let net = networks::by_name(tx, "bridge")?.ok_or_else(|| {
                    wharf_store::StoreError::NotFound("network bridge not found".into())
                })?;
                let a = addressing(&net)
                    .map_err(|e| wharf_store::StoreError::NotFound(e.to_string()))?;
                let ip = free_address(&net, &a, &used_addresses(tx, &net, &a, None)?)?;
                networks::add_step_endpoint(
                    tx,
                    &StepEndpointRecord {
                        step_id: step_id.to_string(),
                        network_id: net.id.clone(),
                        ip: ip.to_string(),
                        mac: netlink::format_mac(netlink::mac_for(ip)),
                        netns: netns.display().to_string(),
                        owner,
                    },
                )?;
                Ok((net, ip))
            })
            .map_err(address_error)?;
        let nl = Netlink::new()?;
        let ips = EndpointIps { ip, ip6: None };
        let link = self.plan_link(&nl, &net, ips, (step_id, 0), true, Default::default())?;
        // The table as the kept bridge needs it (a no-op once it is).
        self.apply_rules()?;
        pending.place(netns)?;
        link.make(&nl, netns)?;
        Ok(ip)
    }

    /// Take build step `step_id` off the default bridge once it has
    /// exited: its namespace (its veth goes with it), then its address.
    pub fn detach_step(&self, step_id: &str, netns: &Path) -> NetResult<()> {
        netlink::delete_netns(netns);
        self.store
            .write(|tx| networks::remove_step_endpoint(tx, step_id))?;
        Ok(())
    }

    /// Steps whose build is gone: their namespaces and rows go. Called
    /// with the network lock held.
    fn release_dead_steps(&self) -> NetResult<Vec<StepEndpointRecord>> {
        let dead = dead_steps(self)?;
        for s in &dead {
            tracing::warn!(step = %s.step_id, ip = %s.ip, "releasing the address of a killed build's step");
            self.detach_step(&s.step_id, Path::new(&s.netns))?;
        }
        Ok(dead)
    }

    /// `system check`'s part: the endpoints of killed builds' steps.
    pub(crate) fn check_steps(&self, repair: bool) -> NetResult<Vec<Finding>> {
        let dead = if repair {
            self.release_dead_steps()?
        } else {
            dead_steps(self)?
        };
        Ok(dead
            .iter()
            .map(|s| {
                Finding::leftover(
                    format!("build step endpoint {} of step {}", s.ip, s.step_id),
                    format!("its build (PID {}) is gone", s.owner),
                )
                .repaired_if(repair)
            })
            .collect())
    }

    /// The build steps on a network now (their builds alive).
    pub fn live_steps(&self) -> NetResult<Vec<StepEndpointRecord>> {
        steps(self, true)
    }
}

fn dead_steps(net: &Networking) -> NetResult<Vec<StepEndpointRecord>> {
    steps(net, false)
}

/// The step endpoints whose build is `alive` (or not).
fn steps(net: &Networking, alive: bool) -> NetResult<Vec<StepEndpointRecord>> {
    let all = net.store.read(|tx| networks::step_endpoints(tx))?;
    Ok(all
        .into_iter()
        .filter(|s| wharf_store::pid_alive(s.owner) == alive)
        .collect())
}

//! `wharf system check [--repair]`: the store's own check (rows against
//! files, blob digests, layer references), the containers' side (rows
//! against directories, monitors, mounts and cgroups) and networking's
//! (links, nftables, DNS servers, subnets), as one list of findings.

use std::collections::HashSet;
use std::path::Path;

use wharf_model::Status;
use wharf_runtime::monitor::ContainerDir;
use wharf_runtime::spec::DEFAULT_CGROUP_PARENT;
use wharf_store::{containers, Finding};

use crate::containers::state::{alive, live_monitors, orphaned};
use crate::{Engine, EngineResult};

fn detach(path: &Path) -> bool {
    nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH).is_ok()
}

impl Engine {
    /// Check everything this root owns; with `repair`, fix what can be.
    /// Containers go first: finishing an interrupted removal or recording
    /// a dead monitor's exit changes what the store and network checks
    /// expect.
    pub fn system_check(&self, repair: bool) -> EngineResult<Vec<Finding>> {
        let mut out = self.check_containers(repair)?;
        out.extend(self.store.check(repair)?);
        out.extend(self.networking()?.check(repair)?);
        Ok(out)
    }

    fn check_containers(&self, repair: bool) -> EngineResult<Vec<Finding>> {
        let mut out = Vec::new();
        for (id, pid) in self.orphan_steps() {
            let f = Finding::leftover(
                format!("build step {id}"),
                format!("its build is gone; its monitor {pid} still runs it"),
            );
            out.push(f.repaired_if(repair && self.stop_orphan_step(&id, pid)));
        }
        let mut monitors: HashSet<String> = live_monitors(self.store.root()).into_keys().collect();
        // A step on the default bridge is its build's from its network's
        // setup on, before its monitor runs.
        monitors.extend(
            self.networking()?
                .live_steps()?
                .into_iter()
                .map(|s| s.step_id),
        );
        let rows = self.store.read(|tx| containers::list(tx))?;
        let mut running: HashSet<String> = HashSet::new();
        for c in &rows {
            let object = format!("container {}", c.id);
            let dir = ContainerDir::new(self.store.root(), &c.id);
            let monitor_alive = c.state.monitor_pid.is_some_and(alive);
            if c.state.status.is_running() && monitor_alive {
                running.insert(c.id.clone());
                continue;
            }
            if c.state.status.is_running() {
                let f = Finding::error(
                    &object,
                    format!(
                        "recorded as {} but its monitor is gone",
                        c.state.status.as_str()
                    ),
                );
                out.push(f.repaired_if(repair && self.refresh_listed(c.clone()).is_ok()));
            } else if c.state.status == Status::Removing && !monitors.contains(&c.id) {
                let f = Finding::error(&object, "its removal was interrupted");
                out.push(
                    f.repaired_if(repair && self.remove_container(&c.id, true, false).is_ok()),
                );
            } else if !dir.path.is_dir() {
                out.push(Finding::error(
                    &object,
                    format!("its directory {} is missing", dir.path.display()),
                ));
            }
        }
        running.extend(monitors.iter().cloned());

        // Directories no row accounts for: a killed create or rm, or a
        // build step whose build was killed (its monitor gone too).
        let known: HashSet<&str> = rows.iter().map(|c| c.id.as_str()).collect();
        let mut ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
        let containers_dir = self.store.root().join("containers");
        for e in std::fs::read_dir(&containers_dir)
            .into_iter()
            .flatten()
            .flatten()
        {
            let id = e.file_name().to_string_lossy().into_owned();
            if known.contains(id.as_str()) || monitors.contains(&id) {
                continue;
            }
            ids.push(id.clone());
            let f = Finding::leftover(
                format!("container directory {}", e.path().display()),
                "no container or running build step has it",
            );
            out.push(f.repaired_if(
                repair && {
                    let dir = ContainerDir::new(self.store.root(), &id);
                    wharf_runtime::monitor::remove(
                        &self.store,
                        &dir,
                        false,
                        &[],
                        DEFAULT_CGROUP_PARENT,
                    )
                    .delete();
                    !dir.path.exists()
                },
            ));
        }

        // Mounts: a container's only while it runs; volumes' are theirs to
        // manage; anything else is work in progress of a live process.
        let volumes = self.store.root().join("volumes");
        // The root itself may be a mount (a store on its own disk): the
        // user's, never a leftover.
        let under_root = wharf_store::mounts_under(self.store.root());
        for m in under_root.into_iter().filter(|m| m != self.store.root()) {
            let rel = m.strip_prefix(&containers_dir).ok();
            let owner = rel.and_then(|r| r.components().next());
            let in_use = match owner {
                Some(id) => running.contains(id.as_os_str().to_string_lossy().as_ref()),
                None => m.starts_with(&volumes) || self.store.owner_alive(&m),
            };
            if !in_use {
                let f =
                    Finding::leftover(format!("mount {}", m.display()), "nothing running uses it");
                out.push(f.repaired_if(repair && detach(&m)));
            }
        }

        // Cgroups of containers that do not run.
        for id in ids.iter().filter(|id| !running.contains(*id)) {
            let parent = rows
                .iter()
                .find(|c| &c.id == id)
                .map_or(DEFAULT_CGROUP_PARENT, |c| {
                    crate::containers::cgroup_parent(&c.definition.host_config)
                });
            let dirs = wharf_runtime::monitor::leftover_cgroups(id, parent);
            if let Some(first) = dirs.first() {
                let f = Finding::leftover(
                    format!("cgroup {}", first.display()),
                    format!("container {id} does not run"),
                );
                out.push(f.repaired_if(
                    repair && {
                        wharf_runtime::monitor::remove_cgroups(id, parent);
                        wharf_runtime::monitor::leftover_cgroups(id, parent).is_empty()
                    },
                ));
            }
        }
        Ok(out)
    }
}

impl Engine {
    /// Build steps still running whose build was killed: (ID, monitor PID).
    fn orphan_steps(&self) -> Vec<(String, i32)> {
        // Step directories first: with none (no build running, the usual
        // case) neither the process list, whose reading grows with every
        // container's monitor on the host, nor the rows need reading.
        let steps: HashSet<String> = std::fs::read_dir(self.store.root().join("containers"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|id| {
                ContainerDir::new(self.store.root(), id)
                    .step_config()
                    .exists()
            })
            .collect();
        if steps.is_empty() {
            return Vec::new();
        }
        let rows: HashSet<String> = self
            .store
            .container_ids()
            .unwrap_or_default()
            .into_iter()
            .collect();
        live_monitors(self.store.root())
            .into_iter()
            .filter(|(id, pid)| steps.contains(id) && !rows.contains(id) && orphaned(*pid))
            .collect()
    }

    /// Kill an orphaned step's monitor and take its container apart (the
    /// runtime's delete kills what still runs in it).
    fn stop_orphan_step(&self, id: &str, monitor: i32) -> bool {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(monitor),
            nix::sys::signal::Signal::SIGKILL,
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive(monitor) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let dir = ContainerDir::new(self.store.root(), id);
        wharf_runtime::monitor::remove(&self.store, &dir, false, &[], DEFAULT_CGROUP_PARENT)
            .delete();
        !dir.path.exists()
    }

    /// Stop the steps of builds that were killed (a new build's first act:
    /// one read of the process list, nothing for `run`).
    pub(crate) fn sweep_orphan_steps(&self) {
        for (id, pid) in self.orphan_steps() {
            tracing::warn!(id, "stopping a build step whose build is gone");
            self.stop_orphan_step(&id, pid);
        }
    }
}

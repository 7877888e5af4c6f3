//! A container's true state: the record's word, checked against the
//! processes that should exist (a killed monitor means the container is
//! gone, whatever the row says), and what its monitor runs, derived from
//! the record.

use wharf_model::{ContainerRecord, NetMode};
use wharf_runtime::monitor::{ContainerDir, MonitorConfig};
use wharf_runtime::spec::{NetworkMode, RunOptions};
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

/// Whether `pid` is a live process (a zombie is not: it only waits to be reaped).
pub(crate) fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|s| s != 'Z' && s != 'X'),
        Err(_) => false,
    }
}

/// The containers (and build steps) whose `wharf monitor` runs for `root`
/// now, by ID, with the monitor's PID (one read of every process's
/// command line).
pub(crate) fn live_monitors(root: &std::path::Path) -> std::collections::HashMap<String, i32> {
    let marker = format!("--root\0{}\0monitor\0", root.display());
    let mut out = std::collections::HashMap::new();
    for p in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline);
        if let Some((_, args)) = text.split_once(&marker) {
            out.extend(
                args.split('\0')
                    .filter(|a| a.len() == 64 && a.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(|id| (id.to_string(), pid)),
            );
        }
    }
    out
}

/// Whether monitor `pid` lost the process that started it (its parent is
/// no longer a wharf: the `build` that ran the step was killed).
pub(crate) fn orphaned(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let ppid: i32 = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(1);
    let exe = |p: i32| std::fs::read_link(format!("/proc/{p}/exe")).ok();
    ppid <= 1 || exe(ppid) != exe(pid)
}

impl Engine {
    /// What the monitor of container `id` runs, derived from its record.
    pub fn monitor_config(&self, id: &str) -> EngineResult<MonitorConfig> {
        let rec = self
            .store
            .read(|tx| containers::get(tx, id))?
            .ok_or_else(|| EngineError::NotFound(format!("No such container: {id}")))?;
        // Being removed (`container prune` beside a `run` of a created
        // container): a monitor that starts now must make nothing. The
        // remover marks the row, then waits for the container's monitor
        // lock (`monitor::lifetime`), which a monitor takes before it
        // reads the row here: either the remover waits for this monitor,
        // or this monitor reads the mark. Otherwise the start recreated
        // the removed directory and left its network namespace mounted
        // there (seen in the stress test).
        if rec.state.status == wharf_model::Status::Removing {
            return Err(EngineError::Conflict(
                "container is marked for removal and cannot be started".into(),
            ));
        }
        Ok(self.launch_config(&rec))
    }

    /// [`Engine::monitor_config`] of a record in hand.
    pub fn launch_config(&self, rec: &ContainerRecord) -> MonitorConfig {
        let d = &rec.definition;
        let dir = ContainerDir::new(self.store.root(), &rec.id);
        // A bridge's namespace is made by the monitor's hooks at each
        // start; `container:X` is joined there too.
        let network = match d.resolved.net_mode {
            NetMode::Host => NetworkMode::Host,
            NetMode::Bridge => NetworkMode::Namespace(dir.netns()),
            NetMode::None | NetMode::Container(_) => NetworkMode::None,
        };
        MonitorConfig {
            lowers: self.container_lowers(rec),
            auto_remove: d.host_config.auto_remove,
            name: rec.name.clone(),
            image: d.config.clone(),
            options: RunOptions::from_definition(d, network),
            cgroup_parent: super::cgroup_parent(&d.host_config).to_string(),
            restart: d.host_config.restart_policy,
            ephemeral: false,
            volume_mounts: d.resolved.volume_mounts.clone(),
            // Checked at create: only a record damaged since falls back.
            log: super::logging::log_options(d).unwrap_or_else(|e| {
                tracing::warn!(id = %rec.id, error = %e, "the container's log options");
                Some(Default::default())
            }),
        }
    }

    /// A container's overlay lower dirs, top first: docker's init layer,
    /// then the image's layers.
    pub(crate) fn container_lowers(&self, rec: &ContainerRecord) -> Vec<std::path::PathBuf> {
        std::iter::once(self.store.init_layer_dir())
            .chain(
                rec.definition
                    .resolved
                    .layers
                    .iter()
                    .map(|l| self.store.layer_dir(l)),
            )
            .collect()
    }

    /// [`Engine::refresh`] for listing: a `--rm` container whose monitor
    /// died (kill -9, host crash) is removed, as its monitor would have
    /// done and as docker's daemon does on restart (`None`: it is gone).
    /// This is the sweep of crashed `--rm` containers: `ps` already reads
    /// every row and checks each running one's monitor, so it costs `run`
    /// nothing and `ps` nothing more while no monitor has died.
    pub(crate) fn refresh_listed(
        &self,
        c: ContainerRecord,
    ) -> EngineResult<Option<ContainerRecord>> {
        let was_running = c.state.status.is_running();
        let c = self.refresh(c)?;
        if !(was_running && !c.state.status.is_running() && c.definition.host_config.auto_remove) {
            return Ok(Some(c));
        }
        tracing::warn!(id = %c.id, "removing a --rm container whose monitor died");
        match self.remove_container(&c.id, true, false) {
            Ok(_) => Ok(None),
            Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Re-read a container and fix its row if its monitor died without
    /// recording the exit (kill -9 of the monitor, host crash).
    ///
    /// `c` may be stale: a monitor records the exit as its last act and
    /// then exits, so a row read just before that write, checked just
    /// after the exit, shows `running` with a dead monitor though nothing
    /// died early (four `rm -f` at once met that 3 times in 100). Only a
    /// row that still says `running` with that same monitor is a crash;
    /// any other row (exited, removed, or started again by another
    /// monitor) is the truth and is returned as it is.
    pub(crate) fn refresh(&self, c: ContainerRecord) -> EngineResult<ContainerRecord> {
        if !c.state.status.is_running() {
            return Ok(c);
        }
        let monitor_alive = c.state.monitor_pid.is_some_and(alive);
        if monitor_alive {
            return Ok(c);
        }
        let now = wharf_oci::config::format_time(chrono::Utc::now());
        let crashed = self.store.write(|tx| match containers::state(tx, &c.id)? {
            Some(s) if s.status.is_running() && s.monitor_pid == c.state.monitor_pid => {
                containers::set_exited(tx, &c.id, 137, "", &now)?;
                wharf_store::events::container_died(tx, &c.id, 137)?;
                Ok(true)
            }
            _ => Ok(false),
        })?;
        if crashed {
            tracing::warn!(id = %c.id, "monitor is gone; marking the container exited");
            if let Some(pid) = c.state.pid.filter(|p| alive(*p)) {
                // Nobody can reap or log it any more: stop it.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if let Err(e) = self.release_network(&c.id) {
                tracing::warn!(id = %c.id, error = %e, "releasing a dead container's network");
            }
        } else {
            tracing::debug!(id = %c.id, "the monitor recorded the container's end before it went");
        }
        Ok(self
            .store
            .read(|tx| containers::get(tx, &c.id))?
            .unwrap_or(c))
    }
}

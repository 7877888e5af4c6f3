//! A container's true state: the database's word, checked against the
//! processes that should exist (a killed monitor means the container is
//! gone, whatever the row says).

use wharf_store::containers::{self, ContainerRecord};

use crate::{Engine, EngineResult};

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

impl Engine {
    /// What the container was made from (`monitor.json`).
    pub(crate) fn monitor_config(
        &self,
        id: &str,
    ) -> EngineResult<wharf_runtime::monitor::MonitorConfig> {
        let dir = wharf_runtime::monitor::ContainerDir::new(self.store.root(), id);
        wharf_runtime::monitor::MonitorConfig::load(&dir)
            .map_err(|e| crate::EngineError::Invalid(e.to_string()))
    }

    /// Re-read a container and fix its row if its monitor died without
    /// recording the exit (kill -9 of the monitor, host crash).
    pub(crate) fn refresh(&self, c: ContainerRecord) -> EngineResult<ContainerRecord> {
        if c.state != "running" {
            return Ok(c);
        }
        let monitor_alive = c.monitor_pid.is_some_and(alive);
        if monitor_alive {
            return Ok(c);
        }
        tracing::warn!(id = %c.id, "monitor is gone; marking the container exited");
        if let Some(pid) = c.pid.filter(|p| alive(*p)) {
            // Nobody can reap or log it any more: stop it.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let now = wharf_oci::config::format_time(chrono::Utc::now());
        self.store
            .write(|tx| containers::set_exited(tx, &c.id, 137, &now))?;
        if let Err(e) = self.release_network(&c.id) {
            tracing::warn!(id = %c.id, error = %e, "releasing a dead container's network");
        }
        Ok(self
            .store
            .read(|tx| containers::get(tx, &c.id))?
            .unwrap_or(c))
    }
}

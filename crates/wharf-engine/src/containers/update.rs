//! `docker update`: new limits and restart policy into the container's
//! record, and into its cgroup while it runs (paused included), as moby's
//! `ContainerUpdate` does: the request is checked alone (its warnings
//! returned), folded into `HostConfig` by docker's rules, stored, then
//! applied; a failed apply puts the old record back.

use wharf_model::{Status, UpdateConfig};
use wharf_runtime::spec::{verify_resources, HostInfo, NetworkMode, RunOptions};
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

impl Engine {
    /// Update container `name`; docker's warnings (limits this host drops).
    pub fn update_container(&self, name: &str, update: &UpdateConfig) -> EngineResult<Vec<String>> {
        let host = HostInfo::detect_for(false);
        let mut request = update.clone();
        let r = &mut request.resources;
        // Both 0 and -1 mean "unlimited"; docker's API records 0.
        if r.pids_limit.is_some_and(|p| p < 0) {
            r.pids_limit = Some(0);
        }
        let asked_swap = r.memory_swap;
        let warnings =
            verify_resources(r, &host).map_err(|e| EngineError::Invalid(e.to_string()))?;
        // The check fills in create's default swap (twice the memory):
        // not an update's, which leaves an unset field unchanged.
        if asked_swap == 0 && r.memory_swap == r.memory.saturating_mul(2) {
            r.memory_swap = 0;
        }
        let c = self.refresh(self.find_container(name)?)?;
        let cannot =
            |why: String| EngineError::Invalid(format!("Cannot update container {}: {why}", c.id));
        if matches!(c.state.status, Status::Removing | Status::Dead) {
            return Err(cannot(
                "container is marked for removal and cannot be \"update\"".into(),
            ));
        }
        let before = c.definition.clone();
        let mut after = before.clone();
        after
            .host_config
            .apply_update(&request)
            .map_err(|e| cannot(e.to_string()))?;
        self.store
            .write(|tx| containers::set_definition(tx, &c.id, &after))?;
        // A stopped container gets its limits at its next start, and one
        // waiting to restart at that restart.
        let live = matches!(c.state.status, Status::Running | Status::Paused);
        if live && after.host_config.resources != before.host_config.resources {
            let opts = RunOptions::from_definition(&after, NetworkMode::None);
            let parent = super::cgroup_parent(&after.host_config);
            if let Err(e) = wharf_runtime::cgroups::update_resources(&c.id, parent, &opts, &host) {
                self.store
                    .write(|tx| containers::set_definition(tx, &c.id, &before))?;
                return Err(cannot(e.to_string()));
            }
        }
        self.container_event(&c.id, "update", &[])?;
        Ok(warnings)
    }
}

//! `docker update` / `POST /containers/{id}/update`: a container's
//! resources and restart policy, changed in its record.

use wharf_model::{Resources, RestartPolicy};
use wharf_store::containers;

use crate::{Engine, EngineResult};

/// docker's `UpdateConfig`: resources (a zero or empty value leaves the
/// setting as it is, as in docker's daemon) and the restart policy.
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    pub resources: Resources,
    pub restart_policy: Option<RestartPolicy>,
}

/// `*dst = src` unless `src` is its type's zero; whether it was set.
fn set<T: Default + PartialEq + Clone>(dst: &mut T, src: &T) -> bool {
    let set = *src != T::default();
    if set {
        *dst = src.clone();
    }
    set
}

impl Engine {
    /// Apply `u` to the container's record; the warnings to show. The
    /// restart policy takes effect at the container's next exit (its
    /// monitor reads it then); resources at its next start: a running
    /// container's cgroup is not changed in place.
    pub fn update_container(&self, name: &str, u: &UpdateRequest) -> EngineResult<Vec<String>> {
        let c = self.refresh(self.find_container(name)?)?;
        let mut d = c.definition.clone();
        let (r, new) = (&mut d.host_config.resources, &u.resources);
        let mut changed_resources = false;
        let mut take = |changed: bool| changed_resources |= changed;
        take(set(&mut r.cpu_shares, &new.cpu_shares));
        take(set(&mut r.memory, &new.memory));
        take(set(&mut r.nano_cpus, &new.nano_cpus));
        take(set(&mut r.blkio_weight, &new.blkio_weight));
        take(set(&mut r.cpu_period, &new.cpu_period));
        take(set(&mut r.cpu_quota, &new.cpu_quota));
        take(set(&mut r.cpu_realtime_period, &new.cpu_realtime_period));
        take(set(&mut r.cpu_realtime_runtime, &new.cpu_realtime_runtime));
        take(set(&mut r.cpuset_cpus, &new.cpuset_cpus));
        take(set(&mut r.cpuset_mems, &new.cpuset_mems));
        take(set(&mut r.memory_reservation, &new.memory_reservation));
        take(set(&mut r.memory_swap, &new.memory_swap));
        take(set(&mut r.pids_limit, &new.pids_limit));
        if let Some(p) = u.restart_policy {
            if p != RestartPolicy::No && d.host_config.auto_remove {
                return Err(crate::EngineError::Conflict(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container"
                        .into(),
                ));
            }
            d.host_config.restart_policy = p;
        }
        self.store
            .write(|tx| containers::set_definition(tx, &c.id, &d))?;
        let mut warnings = Vec::new();
        if changed_resources && c.state.status.is_running() {
            warnings
                .push("the new resource limits apply from the container's next start".to_string());
        }
        Ok(warnings)
    }
}

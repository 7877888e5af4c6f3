//! `docker update`: docker's `container.UpdateConfig` (the Engine API's
//! `POST /containers/{id}/update` body) and moby's rules for folding it
//! into a container's `HostConfig` (`container.UpdateContainer`, with its
//! messages): zero means "unchanged", and a few combinations are refused.

use serde::{Deserialize, Serialize};

use crate::{HostConfig, ModelError, Resources, RestartPolicy};

/// What `update` changes: the cgroup limits (zero/empty/`None` fields stay
/// as they are) and the restart policy (`None`: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateConfig {
    #[serde(flatten)]
    pub resources: Resources,
    pub restart_policy: Option<RestartPolicy>,
}

impl UpdateConfig {
    /// Whether it asks for anything at all.
    pub fn is_empty(&self) -> bool {
        self.restart_policy.is_none() && self.resources == Resources::default()
    }
}

/// Docker's rule for an update's field: its zero value leaves it as is.
fn set_if_given<T: PartialEq + Default + Clone>(field: &mut T, given: &T) {
    if *given != T::default() {
        *field = given.clone();
    }
}

fn conflict(m: &str) -> ModelError {
    ModelError::Invalid(m.to_string())
}

impl HostConfig {
    /// Fold `u` into this configuration as docker's daemon does; nothing
    /// changes when it is refused.
    pub fn apply_update(&mut self, u: &UpdateConfig) -> Result<(), ModelError> {
        let r = &u.resources;
        let c = &self.resources;
        // NanoCPUs sets period and quota itself: one or the other, ever.
        if r.nano_cpus > 0 && c.cpu_period > 0 {
            return Err(conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"));
        }
        if r.nano_cpus > 0 && c.cpu_quota > 0 {
            return Err(conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"));
        }
        if r.cpu_period > 0 && c.nano_cpus > 0 {
            return Err(conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"));
        }
        if r.cpu_quota > 0 && c.nano_cpus > 0 {
            return Err(conflict(
                "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
            ));
        }
        // Docker compares with the recorded swap as is (0 when none was
        // set, -1 when unlimited): a bare `--memory` raise is refused then.
        if r.memory != 0 && r.memory > c.memory_swap && r.memory_swap == 0 {
            return Err(conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"));
        }
        if let Some(p) = u.restart_policy {
            if self.auto_remove && p != RestartPolicy::No {
                return Err(conflict("Restart policy cannot be updated because AutoRemove is enabled for the container"));
            }
        }
        let c = &mut self.resources;
        set_if_given(&mut c.blkio_weight, &r.blkio_weight);
        set_if_given(&mut c.cpu_shares, &r.cpu_shares);
        set_if_given(&mut c.nano_cpus, &r.nano_cpus);
        set_if_given(&mut c.cpu_period, &r.cpu_period);
        set_if_given(&mut c.cpu_quota, &r.cpu_quota);
        set_if_given(&mut c.cpuset_cpus, &r.cpuset_cpus);
        set_if_given(&mut c.cpuset_mems, &r.cpuset_mems);
        set_if_given(&mut c.memory, &r.memory);
        set_if_given(&mut c.memory_swap, &r.memory_swap);
        set_if_given(&mut c.memory_reservation, &r.memory_reservation);
        set_if_given(&mut c.kernel_memory, &r.kernel_memory);
        set_if_given(&mut c.cpu_realtime_period, &r.cpu_realtime_period);
        set_if_given(&mut c.cpu_realtime_runtime, &r.cpu_realtime_runtime);
        if r.pids_limit.is_some() {
            c.pids_limit = r.pids_limit;
        }
        if let Some(p) = u.restart_policy {
            self.restart_policy = p;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(r: Resources) -> UpdateConfig {
        UpdateConfig {
            resources: r,
            restart_policy: None,
        }
    }

    #[test]
    fn zero_fields_stay_and_others_change() {
        let mut h = HostConfig::default();
        h.resources.cpu_shares = 512;
        h.resources.memory = 64 << 20;
        h.resources.memory_swap = 128 << 20;
        h.apply_update(&update(Resources {
            memory: 96 << 20,
            pids_limit: Some(50),
            cpuset_cpus: "0".into(),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(h.resources.cpu_shares, 512);
        assert_eq!(h.resources.memory, 96 << 20);
        assert_eq!(h.resources.memory_swap, 128 << 20);
        assert_eq!(h.resources.pids_limit, Some(50));
        assert_eq!(h.resources.cpuset_cpus, "0");
    }

    #[test]
    fn dockers_refusals() {
        let mut h = HostConfig::default();
        // No swap recorded: a memory limit alone is refused, as docker does.
        let e = h
            .apply_update(&update(Resources {
                memory: 64 << 20,
                ..Default::default()
            }))
            .unwrap_err();
        assert!(e.to_string().starts_with("Memory limit should be smaller"));
        h.resources.nano_cpus = 500_000_000;
        let e = h
            .apply_update(&update(Resources {
                cpu_period: 50_000,
                ..Default::default()
            }))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
        );
        h.auto_remove = true;
        let before = h.clone();
        let e = h
            .apply_update(&UpdateConfig {
                restart_policy: Some(RestartPolicy::Always),
                ..Default::default()
            })
            .unwrap_err();
        assert!(e.to_string().contains("AutoRemove is enabled"));
        assert_eq!(h, before);
    }
}

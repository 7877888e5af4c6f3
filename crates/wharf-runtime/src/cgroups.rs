//! `update` of a running container: its record's limits written to its
//! cgroup, live, through libcontainer's own cgroup managers (libcgroups:
//! v1, v2 and hybrid hosts, the write orders runc uses, e.g. memory and
//! swap in the order the kernel accepts).

use libcgroups::common::{
    create_cgroup_manager, AnyManagerError, CgroupConfig, CgroupManager, ControllerOpt,
    CreateCgroupSetupError,
};
use oci_spec::runtime::LinuxPidsBuilder;

use crate::spec::{build_resources, cgroups_path, HostInfo, RunOptions, SpecError};

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Limits docker would refuse (its message).
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Setup(#[from] CreateCgroupSetupError),
    /// The kernel refused a value (a memory limit below the usage ...).
    #[error(transparent)]
    Apply(#[from] AnyManagerError),
}

/// Write `opts`' limits (the record's `Resources`) to the cgroup of the
/// running container `id` under `cgroup_parent`, as `runc update` does
/// for docker. Device rules are left as the start set them.
pub fn update_resources(
    id: &str,
    cgroup_parent: &str,
    opts: &RunOptions,
    host: &HostInfo,
) -> Result<(), UpdateError> {
    let mut resources = build_resources(opts, host, Vec::new())?;
    resources.set_devices(None);
    // "Unlimited" (a pids limit of 0) must reach pids.max too, as docker
    // hands runc a limit of 0.
    if resources.pids().is_none() && opts.resources.pids_limit.is_some() {
        resources.set_pids(Some(
            LinuxPidsBuilder::default()
                .limit(0)
                .build()
                .map_err(SpecError::from)?,
        ));
    }
    let manager = create_cgroup_manager(CgroupConfig {
        cgroup_path: cgroups_path(cgroup_parent, id),
        systemd_cgroup: false,
        container_name: id.to_string(),
    })?;
    manager.apply(&ControllerOpt {
        resources: &resources,
        disable_oom_killer: opts.resources.oom_kill_disable == Some(true),
        oom_score_adj: None,
        freezer_state: None,
    })?;
    Ok(())
}

//! Docker's daemon checks of a new container's `Config` and `HostConfig`
//! (moby 20.10 `verifyContainerSettings`, `verifyPlatformContainerSettings`):
//! errors with docker's messages, the warnings docker's CLI prints, and
//! the values docker adjusts before storing them (a limit this kernel
//! cannot apply is recorded as 0, as docker records it).

use wharf_model::modes::{
    mode_container, valid_cgroupns_mode, valid_ipc_mode, valid_pid_mode, valid_userns_mode,
    valid_uts_mode, ModeCheck,
};
use wharf_model::Definition;
use wharf_runtime::spec::{verify_resources, CgroupLayout, HostInfo};

use crate::{Engine, EngineError, EngineResult};

/// The runtimes docker 20.10 knows by default; all mean wharf's own here.
const RUNTIMES: [&str; 3] = [
    "runc",
    "io.containerd.runc.v2",
    "io.containerd.runtime.v1.linux",
];

/// Docker's floor for health check durations (`MinimumDuration`): 1 ms.
const MIN_HEALTH_DURATION: i64 = 1_000_000;

/// Docker's floor for `--kernel-memory` (its message says 4MB).
const MIN_KERNEL_MEMORY: i64 = 6 * 1024 * 1024;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// Check `d` as docker's daemon does at create, adjusting what docker
/// adjusts; returns docker's warnings.
pub(crate) fn verify(d: &mut Definition, host: &HostInfo) -> EngineResult<Vec<String>> {
    let mut warnings = Vec::new();
    if let Some(hc) = &d.config.healthcheck {
        for (value, what) in [
            (hc.interval, "Interval"),
            (hc.timeout, "Timeout"),
            (hc.start_period, "StartPeriod"),
        ] {
            if value != 0 && value < MIN_HEALTH_DURATION {
                return Err(invalid(format!(
                    "{what} in Healthcheck cannot be less than 1ms"
                )));
            }
        }
        if hc.retries < 0 {
            return Err(invalid("Retries in Healthcheck cannot be negative"));
        }
    }
    super::logging::log_options(d)?;
    let h = &mut d.host_config;
    if !h.runtime.is_empty() && !RUNTIMES.contains(&h.runtime.as_str()) {
        return Err(invalid(format!("Unknown runtime specified {}", h.runtime)));
    }
    if !h.isolation.is_empty() && !h.isolation.eq_ignore_ascii_case("default") {
        return Err(invalid(format!(
            "Invalid isolation: {:?} - linux only supports 'default'",
            h.isolation
        )));
    }
    if h.storage_opt.as_ref().is_some_and(|o| !o.is_empty()) {
        // wharf's overlays have no quota (docker's needs xfs with pquota).
        return Err(invalid(
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
        ));
    }
    if !(-1000..=1000).contains(&h.oom_score_adj) {
        return Err(invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            h.oom_score_adj
        )));
    }
    if h.runtime == "io.containerd.runtime.v1.linux" {
        warnings.push(
            "Configured runtime \"io.containerd.runtime.v1.linux\" is deprecated and will be removed in the next release."
                .into(),
        );
    }
    let r = &mut h.resources;
    // No device plugin (GPU driver) exists here: docker's answer when none
    // matches.
    if let Some(req) = wharf_model::list(&r.device_requests).first() {
        let caps = req
            .capabilities
            .iter()
            .flatten()
            .map(|c| format!("[{}]", c.join(" ")))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(invalid(format!(
            "could not select device driver {:?} with capabilities: [{caps}]",
            req.driver
        )));
    }
    if r.kernel_memory > 0 {
        warnings.push(
            "Specifying a kernel memory limit is deprecated and will be removed in a future release."
                .to_string(),
        );
        let supported = host.cgroup != CgroupLayout::V2
            && host.cgroup_has("memory", "memory.kmem.limit_in_bytes");
        if !supported {
            warnings.push("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
            r.kernel_memory = 0;
        } else if r.kernel_memory < MIN_KERNEL_MEMORY {
            return Err(invalid("Minimum kernel memory limit allowed is 4MB"));
        }
    }
    warnings.extend(verify_resources(r, host).map_err(|e| EngineError::Invalid(e.to_string()))?);
    // docker's CLI always sends it; the daemon keeps `false` for unset.
    r.oom_kill_disable.get_or_insert(false);
    Ok(warnings)
}

impl Engine {
    /// The namespace modes as docker's daemon takes them: checked, a
    /// `container:<name>` mode turned into the container's ID (docker's
    /// `adaptSharedNamespaceContainer`: a rename does not break the
    /// link), and SELinux labels off where docker turns them off.
    pub(crate) fn verify_namespaces(&self, d: &mut Definition) -> EngineResult<()> {
        let h = &mut d.host_config;
        let checks: [(&str, ModeCheck, &str); 5] = [
            (&h.ipc_mode, valid_ipc_mode, "Invalid IPC mode"),
            (&h.pid_mode, valid_pid_mode, "invalid PID mode"),
            (&h.uts_mode, valid_uts_mode, "invalid UTS mode"),
            (&h.userns_mode, valid_userns_mode, "invalid USER mode"),
            (
                &h.cgroupns_mode,
                valid_cgroupns_mode,
                "invalid cgroup namespace mode",
            ),
        ];
        for (mode, valid, message) in checks {
            if !valid(mode) {
                return Err(invalid(format!("{message}: {mode}")));
            }
        }
        if h.uts_mode == "host" && !d.config.hostname.is_empty() {
            return Err(invalid("conflicting options: hostname and the UTS mode"));
        }
        for mode in [&mut h.pid_mode, &mut h.ipc_mode, &mut h.network_mode] {
            if let Some(name) = mode_container(mode) {
                let id = self.find_container(name)?.id;
                *mode = format!("container:{id}");
            }
        }
        if h.privileged || h.ipc_mode == "host" || h.pid_mode == "host" {
            h.security_opt
                .get_or_insert_with(Vec::new)
                .push("label=disable".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostInfo {
        HostInfo::detect_for(false)
    }

    #[test]
    fn runtime_and_isolation_as_docker_judges_them() {
        let mut d = Definition::default();
        d.host_config.runtime = "runc".into();
        d.host_config.isolation = "Default".into();
        assert!(verify(&mut d, &host()).unwrap().is_empty());
        d.host_config.runtime = "foo".into();
        assert_eq!(
            verify(&mut d, &host()).unwrap_err().to_string(),
            "Unknown runtime specified foo"
        );
        d.host_config.runtime.clear();
        d.host_config.isolation = "hyperv".into();
        assert_eq!(
            verify(&mut d, &host()).unwrap_err().to_string(),
            "Invalid isolation: \"hyperv\" - linux only supports 'default'"
        );
    }

    #[test]
    fn gpus_find_no_driver() {
        let mut d = Definition::default();
        d.host_config.resources.device_requests = Some(vec![wharf_model::DeviceRequest {
            count: -1,
            capabilities: Some(vec![vec!["gpu".into()]]),
            ..Default::default()
        }]);
        assert_eq!(
            verify(&mut d, &host()).unwrap_err().to_string(),
            "could not select device driver \"\" with capabilities: [[gpu]]"
        );
    }
}

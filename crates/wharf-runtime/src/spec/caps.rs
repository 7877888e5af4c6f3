//! Capabilities: Docker's default set, `--cap-add`/`--cap-drop` (with or
//! without `CAP_`, any case, `ALL`), `--privileged`.
//!
//! "All" means every capability this process holds (Docker's rule since
//! 23.0): a container cannot get what its runtime does not have, and asking
//! for it would only make the runtime fail. Here that excludes
//! CAP_SYS_RESOURCE, for one.

use oci_spec::runtime::Capability;

use super::SpecError;

/// Every capability oci-spec knows, with its kernel number.
const TABLE: [(Capability, &str, u32); 41] = [
    (Capability::Chown, "CAP_CHOWN", 0),
    (Capability::DacOverride, "CAP_DAC_OVERRIDE", 1),
    (Capability::DacReadSearch, "CAP_DAC_READ_SEARCH", 2),
    (Capability::Fowner, "CAP_FOWNER", 3),
    (Capability::Fsetid, "CAP_FSETID", 4),
    (Capability::Kill, "CAP_KILL", 5),
    (Capability::Setgid, "CAP_SETGID", 6),
    (Capability::Setuid, "CAP_SETUID", 7),
    (Capability::Setpcap, "CAP_SETPCAP", 8),
    (Capability::LinuxImmutable, "CAP_LINUX_IMMUTABLE", 9),
    (Capability::NetBindService, "CAP_NET_BIND_SERVICE", 10),
    (Capability::NetBroadcast, "CAP_NET_BROADCAST", 11),
    (Capability::NetAdmin, "CAP_NET_ADMIN", 12),
    (Capability::NetRaw, "CAP_NET_RAW", 13),
    (Capability::IpcLock, "CAP_IPC_LOCK", 14),
    (Capability::IpcOwner, "CAP_IPC_OWNER", 15),
    (Capability::SysModule, "CAP_SYS_MODULE", 16),
    (Capability::SysRawio, "CAP_SYS_RAWIO", 17),
    (Capability::SysChroot, "CAP_SYS_CHROOT", 18),
    (Capability::SysPtrace, "CAP_SYS_PTRACE", 19),
    (Capability::SysPacct, "CAP_SYS_PACCT", 20),
    (Capability::SysAdmin, "CAP_SYS_ADMIN", 21),
    (Capability::SysBoot, "CAP_SYS_BOOT", 22),
    (Capability::SysNice, "CAP_SYS_NICE", 23),
    (Capability::SysResource, "CAP_SYS_RESOURCE", 24),
    (Capability::SysTime, "CAP_SYS_TIME", 25),
    (Capability::SysTtyConfig, "CAP_SYS_TTY_CONFIG", 26),
    (Capability::Mknod, "CAP_MKNOD", 27),
    (Capability::Lease, "CAP_LEASE", 28),
    (Capability::AuditWrite, "CAP_AUDIT_WRITE", 29),
    (Capability::AuditControl, "CAP_AUDIT_CONTROL", 30),
    (Capability::Setfcap, "CAP_SETFCAP", 31),
    (Capability::MacOverride, "CAP_MAC_OVERRIDE", 32),
    (Capability::MacAdmin, "CAP_MAC_ADMIN", 33),
    (Capability::Syslog, "CAP_SYSLOG", 34),
    (Capability::WakeAlarm, "CAP_WAKE_ALARM", 35),
    (Capability::BlockSuspend, "CAP_BLOCK_SUSPEND", 36),
    (Capability::AuditRead, "CAP_AUDIT_READ", 37),
    (Capability::Perfmon, "CAP_PERFMON", 38),
    (Capability::Bpf, "CAP_BPF", 39),
    (Capability::CheckpointRestore, "CAP_CHECKPOINT_RESTORE", 40),
];

/// Docker's default capabilities (moby `oci/caps/defaults.go`), in its order.
pub const DEFAULT_CAPS: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Every capability oci-spec (and so libcontainer) knows, in kernel order.
pub fn all_known() -> impl Iterator<Item = Capability> {
    TABLE.iter().map(|(c, _, _)| *c)
}

/// `CAP_CHOWN` for `Capability::Chown`.
pub fn cap_name(cap: Capability) -> &'static str {
    TABLE
        .iter()
        .find(|(c, _, _)| *c == cap)
        .map(|(_, n, _)| *n)
        .expect("every capability is in the table")
}

/// The capabilities whose bits are set in a `/proc/<pid>/status` mask.
pub fn from_mask(mask: u64) -> Vec<Capability> {
    TABLE
        .iter()
        .filter(|(_, _, bit)| mask & (1u64 << bit) != 0)
        .map(|(c, _, _)| *c)
        .collect()
}

const ALL: &str = "ALL";

/// Docker's `NormalizeLegacyCapabilities`: upper-case, add `CAP_`, check.
/// `None` stands for `ALL`.
fn normalize(
    names: &[String],
    available: &[Capability],
) -> Result<Vec<Option<Capability>>, SpecError> {
    names
        .iter()
        .map(|raw| {
            let upper = raw.to_uppercase();
            if upper == ALL {
                return Ok(None);
            }
            let name = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            let cap = TABLE
                .iter()
                .find(|(_, n, _)| *n == name)
                .map(|(c, _, _)| *c)
                .ok_or_else(|| SpecError::UnknownCapability(name.clone()))?;
            if !available.contains(&cap) {
                return Err(SpecError::UnavailableCapability(name));
            }
            Ok(Some(cap))
        })
        .collect()
}

/// Docker's `TweakCapabilities`: the container's capability set.
pub fn container_caps(
    cap_add: &[String],
    cap_drop: &[String],
    privileged: bool,
    available: &[Capability],
) -> Result<Vec<Capability>, SpecError> {
    let all = || all_known().filter(|c| available.contains(c));
    if privileged {
        return Ok(all().collect());
    }
    // Docker does not filter its defaults; we drop the ones this process
    // lacks (none on a normal root host), since the runtime could not grant
    // them anyway.
    let defaults = DEFAULT_CAPS.into_iter().filter(|c| available.contains(c));
    if cap_add.is_empty() && cap_drop.is_empty() {
        return Ok(defaults.collect());
    }
    let drop = normalize(cap_drop, available)?;
    let add = normalize(cap_add, available)?;
    let mut caps: Vec<Capability> = if add.contains(&None) {
        all().filter(|c| !drop.contains(&Some(*c))).collect()
    } else if drop.contains(&None) {
        add.iter().flatten().copied().collect()
    } else {
        let mut caps: Vec<Capability> = defaults.filter(|c| !drop.contains(&Some(*c))).collect();
        caps.extend(add.iter().flatten());
        caps
    };
    let mut seen = Vec::with_capacity(caps.len());
    caps.retain(|c| {
        let new = !seen.contains(c);
        seen.push(*c);
        new
    });
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn everything() -> Vec<Capability> {
        all_known().collect()
    }

    fn names(caps: &[Capability]) -> Vec<&'static str> {
        caps.iter().map(|c| cap_name(*c)).collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn table_matches_oci_spec_names() {
        for (cap, name, _) in TABLE {
            assert_eq!(serde_json::to_value(cap).unwrap(), name);
        }
        assert_eq!(from_mask(0x1fffeffffff).len(), 40);
        assert!(!from_mask(0x1fffeffffff).contains(&Capability::SysResource));
    }

    #[test]
    fn defaults_are_dockers_fourteen() {
        let caps = container_caps(&[], &[], false, &everything()).unwrap();
        assert_eq!(
            names(&caps),
            [
                "CAP_CHOWN",
                "CAP_DAC_OVERRIDE",
                "CAP_FSETID",
                "CAP_FOWNER",
                "CAP_MKNOD",
                "CAP_NET_RAW",
                "CAP_SETGID",
                "CAP_SETUID",
                "CAP_SETFCAP",
                "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT",
                "CAP_KILL",
                "CAP_AUDIT_WRITE"
            ]
        );
    }

    #[test]
    fn add_and_drop_accept_any_spelling() {
        let caps = container_caps(
            &strs(&["net_admin", "CAP_SYS_PTRACE"]),
            &strs(&["Mknod", "cap_net_raw"]),
            false,
            &everything(),
        )
        .unwrap();
        assert!(caps.contains(&Capability::NetAdmin));
        assert!(caps.contains(&Capability::SysPtrace));
        assert!(!caps.contains(&Capability::Mknod));
        assert!(!caps.contains(&Capability::NetRaw));
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn all_in_add_or_drop() {
        let caps =
            container_caps(&strs(&["all"]), &strs(&["SYS_ADMIN"]), false, &everything()).unwrap();
        assert_eq!(caps.len(), 40);
        assert!(!caps.contains(&Capability::SysAdmin));

        let caps =
            container_caps(&strs(&["CHOWN"]), &strs(&["ALL"]), false, &everything()).unwrap();
        assert_eq!(caps, [Capability::Chown]);
    }

    #[test]
    fn unknown_and_unavailable_capabilities_are_errors() {
        let e = container_caps(&strs(&["foo"]), &[], false, &everything()).unwrap_err();
        assert_eq!(e.to_string(), r#"unknown capability: "CAP_FOO""#);
        let e = container_caps(&[], &strs(&["cap_foo"]), false, &everything()).unwrap_err();
        assert_eq!(e.to_string(), r#"unknown capability: "CAP_FOO""#);

        let host = from_mask(0x1fffeffffff);
        let e = container_caps(&strs(&["SYS_RESOURCE"]), &[], false, &host).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE""#
        );
    }

    #[test]
    fn privileged_gets_everything_the_host_has() {
        let host = from_mask(0x1fffeffffff);
        let caps = container_caps(&[], &strs(&["ALL"]), true, &host).unwrap();
        assert_eq!(caps, host);
    }
}

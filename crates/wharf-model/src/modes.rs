//! Docker's namespace modes of `HostConfig` (`PidMode`, `IpcMode`,
//! `UTSMode`, `UsernsMode`, `CgroupnsMode`): which values are valid
//! (moby's `Valid()` methods, as its CLI and daemon check them) and which
//! container a `container:<name|id>` mode names.

/// One of the `valid_*_mode` checks.
pub type ModeCheck = fn(&str) -> bool;

/// The container a `container:<x>` mode names, if it is one.
pub fn mode_container(mode: &str) -> Option<&str> {
    mode.strip_prefix("container:")
}

/// `--pid`: empty, `host` or `container:<x>`.
pub fn valid_pid_mode(mode: &str) -> bool {
    matches!(mode, "" | "host") || mode_container(mode).is_some_and(|c| !c.is_empty())
}

/// `--ipc`: empty, `none`, `private`, `shareable`, `host` or
/// `container:<x>`.
pub fn valid_ipc_mode(mode: &str) -> bool {
    matches!(mode, "" | "none" | "private" | "shareable" | "host")
        || mode_container(mode).is_some_and(|c| !c.is_empty())
}

/// `--uts`: empty or `host`.
pub fn valid_uts_mode(mode: &str) -> bool {
    matches!(mode, "" | "host")
}

/// `--userns`: empty or `host` (there is no user namespace remapping to
/// opt out of, so `host` is what every container has).
pub fn valid_userns_mode(mode: &str) -> bool {
    matches!(mode, "" | "host")
}

/// `--cgroupns`: empty, `host` or `private`.
pub fn valid_cgroupns_mode(mode: &str) -> bool {
    matches!(mode, "" | "host" | "private")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_valid_as_dockers() {
        assert!(valid_pid_mode("host") && valid_pid_mode("container:x"));
        assert!(!valid_pid_mode("private") && !valid_pid_mode("container:"));
        assert!(valid_ipc_mode("shareable") && valid_ipc_mode("none"));
        assert!(!valid_ipc_mode("foo") && !valid_ipc_mode("container:"));
        assert!(valid_uts_mode("host") && !valid_uts_mode("private"));
        assert!(valid_userns_mode("host") && !valid_userns_mode("private"));
        assert!(valid_cgroupns_mode("private") && !valid_cgroupns_mode("foo"));
        assert_eq!(mode_container("container:web"), Some("web"));
    }
}

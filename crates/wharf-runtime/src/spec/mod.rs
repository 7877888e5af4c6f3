//! The OCI runtime spec (`config.json`) of a container, built from the
//! image config and the `docker run` options exactly as Docker does it
//! (moby's `daemon/oci_linux.go` and `oci/defaults.go`, runc's defaults).
//!
//! [`build_spec`] takes a [`SpecInput`]: the image's config, the
//! [`RunOptions`] (what the flags give; `Default` is no flags), the
//! container's [`ContainerPaths`], its cgroup parent and the [`HostInfo`]
//! (detected once with [`HostInfo::detect`]). The pieces, one file each:
//!
//! - `command`: `process.args` from Entrypoint/Cmd and their overrides,
//!   `--init`, the working directory, the hostname;
//! - [`env`](merge_env): Docker's environment order and precedence;
//! - [`user`](resolve_user): `--user` against the image's passwd and group;
//! - `caps`: the 14 default capabilities, `--cap-add/--cap-drop`,
//!   `--privileged`;
//! - `seccomp` (+ `seccomp_default.json`): Docker's default profile for the
//!   native architecture only, custom profiles, `unconfined`;
//! - `mounts`: the default mounts, network files, user mounts, `--read-only`;
//! - `devices`, `resources`, `rlimits`: the device cgroup, memory/CPU/pids
//!   limits, `--ulimit` (capped at this process's hard limits);
//! - `security`: `--security-opt`;
//! - `host`: what the host allows;
//! - `build`: all of it put together, plus namespaces, masked and
//!   read-only paths, sysctls and the cgroup path.
//!
//! `build_spec` only reads: the image's /etc/passwd and /etc/group through
//! `paths.rootfs`, so the rootfs must show the image's files when it runs
//! (Docker builds the spec at start, with the rootfs mounted). Before the
//! container starts, [`ensure_working_dir`] creates a missing `process.cwd`
//! as Docker does; the runtime fails on one that does not exist.
//!
//! Errors carry Docker's messages; anything the user got wrong is
//! [`wharf_oci::ErrorKind::InvalidArgument`].

mod build;
mod caps;
mod command;
mod devices;
mod env;
mod error;
mod host;
mod mounts;
mod options;
mod resources;
mod rlimits;
mod seccomp;
mod security;
mod user;

#[cfg(test)]
mod tests;

pub use build::{
    build_spec, cgroups_path, sysctl_allowed, DEFAULT_CGROUP_PARENT, MASKED_PATHS, OCI_VERSION,
    READONLY_PATHS,
};
pub use caps::{all_known as all_capabilities, cap_name, DEFAULT_CAPS};
pub use command::{default_hostname, ensure_working_dir, INIT_PATH};
pub use env::{merge_env, merge_env_with, DEFAULT_PATH};
pub use error::SpecError;
pub use host::{CgroupLayout, HostInfo};
pub use mounts::DEFAULT_SHM_SIZE;
pub use options::{
    ContainerPaths, IpcMode, MountKind, Namespace, NetworkMode, RunOptions, SpecInput, SpecMount,
};
pub(crate) use resources::build_resources;
pub use resources::{verify_resources, CPU_PERIOD, MIN_MEMORY};
pub use rlimits::{parse_ulimit, Resource, Ulimit, DEFAULT_NOFILE};
pub use seccomp::{
    default_profile as default_seccomp_profile, load_profile as load_seccomp_profile,
};
pub use security::{parse_security_opts, SecurityOptions};
pub use user::{resolve_group_add, resolve_user, ResolvedUser};

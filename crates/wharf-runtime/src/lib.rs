//! wharf-runtime: running containers.
//!
//! - [`spec`]: the OCI runtime spec of a container, built from the image
//!   config and the `run` options with Docker's defaults (namespaces,
//!   capabilities, seccomp, masked paths, mounts, rlimits, cgroups),
//! - [`rootfs`]: the overlay mount of image layers plus a private upper dir,
//! - [`monitor`]: the small per-container process that starts the container
//!   through youki's libcontainer, owns its stdio, writes its logs, and
//!   records its exit (conmon's role),
//! - [`logs`]: docker's json-file log format, written by the monitor and
//!   read by `logs`,
//! - [`exec`], [`attach`], [`relay`], [`term`]: `exec`, `attach`, and the user's terminal
//!   relayed to a container's (`exec -t`, `attach`),
//! - [`cgroups`]: a running container's limits changed live (`update`),
//! - [`volume_mount`]: volumes with driver options, mounted while a
//!   container uses them.
//! - [`runc`]: `wharf-runc`, an OCI runtime for containerd and dockerd, on
//!   bundles (their config.json as given).

pub mod attach;
pub mod cgroup_warmup;
pub mod cgroups;
mod error;
pub mod exec;
pub mod logs;
pub mod memory;
pub mod monitor;
pub mod relay;
pub mod rootfs;
pub mod runc;
pub mod seccomp_cache;
pub mod spec;
pub mod term;
/// Where the start path's milliseconds go (`WHARF_TIMELINE`); kept with the
/// failpoints so the crates below the runtime (network, store) can mark too.
pub use wharf_failpoint::timeline;
pub mod volume_mount;

pub use error::{go_errno, go_io_error, RuntimeError};

pub use libcontainer::container::Container;

/// libcontainer's handle of a container that has been started.
pub fn load_container(dir: &monitor::ContainerDir) -> Result<Container, RuntimeError> {
    Container::load(dir.runtime_state().join(&dir.id)).map_err(|e| {
        RuntimeError::Unsupported(format!("container {} has no runtime state: {e}", dir.id))
    })
}

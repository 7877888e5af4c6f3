//! wharf-runtime: running containers.
//!
//! - [`spec`]: the OCI runtime spec of a container, built from the image
//!   config and the `run` options with Docker's defaults (namespaces,
//!   capabilities, seccomp, masked paths, mounts, rlimits, cgroups),
//! - [`logs`]: docker's json-file log format, written by the monitor and
//!   read by `logs`.

pub mod logs;
pub mod spec;

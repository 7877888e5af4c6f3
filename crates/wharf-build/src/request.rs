//! What `docker build` flags ask for.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wharf_oci::Reference;

#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The context directory; `None` for `build -` (Dockerfile on stdin).
    pub context: Option<PathBuf>,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Its name relative to the context, for messages and `.dockerignore`
    /// lookup (`Dockerfile`, `other.Dockerfile`).
    pub dockerfile_name: String,
    pub tags: Vec<Reference>,
    /// `--target`: the stage to build (default: the last).
    pub target: Option<String>,
    /// `--build-arg NAME=value` (values already taken from the environment
    /// for a bare `NAME`; `None` when unset there).
    pub build_args: Vec<(String, Option<String>)>,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--secret id=x,src=path`: secret files by ID.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `--network` for RUN steps: `default`, `host`, `none`.
    pub network: Option<String>,
    /// What the other flags ask of every RUN step's container (the host
    /// applies it; the builder does not look).
    pub step_options: StepOptions,
}

/// `build`'s `--add-host`, `--memory`, `--memory-swap`, `--cpu-*`,
/// `--cpuset-*`, `--cgroup-parent`, `--shm-size` and `--ulimit`, for
/// every RUN step's container (docker's classic builder applies them).
#[derive(Debug, Clone, Default)]
pub struct StepOptions {
    /// `--add-host`, checked: (name, ip), after BuildKit's own lines.
    pub extra_hosts: Vec<(String, String)>,
    /// The cgroup limits (and parent), checked.
    pub resources: wharf_model::Resources,
    /// `--shm-size`; 0 is docker's 64 MiB.
    pub shm_size: i64,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<String>,
}

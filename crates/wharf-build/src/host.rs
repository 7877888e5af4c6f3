//! What the builder needs from the engine: base images (pulled if missing)
//! and a way to run a RUN step in a container. The builder sits beside the
//! runtime, below the engine, so the engine hands these in.

use std::io::Write;
use std::path::{Path, PathBuf};

use wharf_oci::{ContainerConfig, Digest};
use wharf_runtime::spec::SpecMount;

use crate::{BuildError, BuildResult};

/// Where a RUN step's network is: BuildKit's `--network` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepNetwork {
    /// Its own namespace on the default bridge, with its own address,
    /// hosts, resolv.conf and hostname (BuildKit's default).
    #[default]
    Default,
    /// The host's namespace.
    Host,
    /// A namespace with loopback only.
    None,
}

impl StepNetwork {
    /// `build --network`: BuildKit knows three modes (docker 20.10's
    /// daemon refuses the rest with these words before the build starts).
    pub fn parse(mode: Option<&str>) -> BuildResult<StepNetwork> {
        match mode.unwrap_or("") {
            "" | "default" => Ok(StepNetwork::Default),
            "host" => Ok(StepNetwork::Host),
            "none" => Ok(StepNetwork::None),
            other => Err(BuildError::Invalid(format!(
                "network mode {other:?} not supported by buildkit"
            ))),
        }
    }
}

/// One RUN step's container.
#[derive(Debug, Clone)]
pub struct RunStep {
    /// Layer trees of the step's root filesystem, top first.
    pub lowers: Vec<PathBuf>,
    /// Env, user and working directory of the step (the stage's config).
    pub config: ContainerConfig,
    /// The full command (shell already prepended for shell form).
    pub args: Vec<String>,
    pub network: StepNetwork,
    /// `RUN --mount` binds and tmpfs.
    pub mounts: Vec<SpecMount>,
    /// `--security=insecure`.
    pub privileged: bool,
}

/// A finished step; its container's files stay until this is dropped.
pub struct RunOutput {
    pub exit_code: i32,
    /// The container's overlay upper dir: the step's changes.
    pub upper: PathBuf,
    /// Removes the container's files when dropped.
    pub cleanup: Box<dyn Send>,
}

pub trait BuildHost: Sync {
    /// The ID of a base image, pulling it when it is not in the store.
    fn base_image(&self, name: &str, out: &mut dyn Write) -> BuildResult<Digest>;
    /// The ID of an image of the store, pulling nothing (`--cache-from`).
    fn image_in_store(&self, name: &str) -> Option<Digest>;
    /// Run a step, streaming its output to `out`.
    fn run(&self, step: &RunStep, out: &mut dyn Write) -> BuildResult<RunOutput>;
    /// Where RUN `--mount=type=cache` directories live.
    fn cache_mounts_dir(&self) -> &Path;
}

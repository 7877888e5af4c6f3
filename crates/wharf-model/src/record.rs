//! The one record of a container: its identity, its state, and what it was
//! made from (Docker's `Config`, `HostConfig`, `NetworkingConfig` and
//! `Mounts`, plus what wharf resolved at create). The OCI spec, the
//! network plan and `inspect` are all derived from it; nothing else about
//! a container is stored.

use serde::{Deserialize, Serialize};
use wharf_oci::{ContainerConfig, Digest};

use crate::host_config::HostConfig;
use crate::mount::{MountPoint, SpecMount, VolumeMount};
use crate::network::{NetMode, NetworkingConfig};
use crate::state::ContainerState;

/// What create resolved that Docker's objects do not carry: the image's
/// layers, the network namespace, and mounts with volumes turned into
/// host paths. Never shown to users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resolved {
    /// The image's layers (diff IDs), top first: the overlay's lower dirs.
    pub layers: Vec<Digest>,
    pub net_mode: NetMode,
    /// `-v`, `--mount`, `--tmpfs` and `--volumes-from` with host sources.
    pub mounts: Vec<SpecMount>,
    /// Volumes with driver options, mounted while the container runs.
    pub volume_mounts: Vec<VolumeMount>,
}

/// What a container was made from, stored as one JSON document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Definition {
    /// Docker's `Config`, merged with the image's at create (docker's
    /// daemon merges: `Env`, `Cmd`, `Entrypoint`, `User`, `WorkingDir`,
    /// `ExposedPorts`, `Volumes`, `Labels`, `Healthcheck`, `StopSignal`).
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub networking_config: NetworkingConfig,
    /// `inspect`'s `Mounts`.
    pub mounts: Vec<MountPoint>,
    #[serde(rename = "Wharf")]
    pub resolved: Resolved,
}

impl Definition {
    /// Docker's `Path` and `Args`: the entrypoint then the command.
    pub fn command(&self) -> (String, Vec<String>) {
        let c = &self.config;
        let mut all: Vec<String> = c.entrypoint.iter().flatten().cloned().collect();
        all.extend(c.cmd.iter().flatten().cloned());
        let mut it = all.into_iter();
        (it.next().unwrap_or_default(), it.collect())
    }

    /// The image reference the user gave (docker's `Config.Image`).
    pub fn image_ref(&self) -> &str {
        &self.config.image
    }

    /// The container's labels.
    pub fn labels(&self) -> impl Iterator<Item = (&String, &String)> {
        self.config.labels.iter().flatten()
    }
}

/// One container, as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRecord {
    /// 64 hex digits.
    pub id: String,
    /// Without docker's leading `/`.
    pub name: String,
    pub image_id: Digest,
    pub created: String,
    pub state: ContainerState,
    pub definition: Definition,
}

impl ContainerRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    pub fn config(&self) -> &ContainerConfig {
        &self.definition.config
    }

    pub fn host_config(&self) -> &HostConfig {
        &self.definition.host_config
    }
}

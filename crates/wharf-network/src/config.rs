//! What a container asked for at create time (`network.json` next to it).

use serde::{Deserialize, Serialize};

use crate::files::DnsOptions;
use crate::ports::PortBinding;

/// `--network`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetMode {
    /// Bridge networks: the container's endpoints in the store.
    #[default]
    Bridge,
    Host,
    None,
    /// `container:<id>`: share that container's namespace.
    Container(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerNetConfig {
    pub mode: NetMode,
    /// `-p` (and `-P`, expanded at create time).
    pub publish: Vec<PortBinding>,
    /// `--expose` and the image's `ExposedPorts`: (port, proto).
    pub exposed: Vec<(u16, String)>,
    pub dns: DnsOptions,
    /// `--add-host name:ip`.
    pub extra_hosts: Vec<(String, String)>,
    pub hostname: String,
    pub domainname: String,
}

impl ContainerNetConfig {
    pub fn load(path: &std::path::Path) -> Option<ContainerNetConfig> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

//! What a container's networking needs, derived from its record by the
//! engine at create and at each start.

use serde::{Deserialize, Serialize};

use crate::files::DnsOptions;
use crate::ports::PortBinding;

pub use wharf_model::NetMode;

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

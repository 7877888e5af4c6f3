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
    /// `--mac-address`: the first endpoint's, instead of the one derived
    /// from its address.
    pub mac_address: Option<[u8; 6]>,
    /// `--link-local-ip` (IPv4): more addresses on the first endpoint.
    pub link_local_ips: Vec<std::net::Ipv4Addr>,
}

/// The root's daemon settings file: docker's daemon.json keys wharf
/// honours (it has no daemon to start with them).
pub const DAEMON_JSON: &str = "daemon.json";

/// The default bridge's IPv6 subnet if `<root>/daemon.json` enables it:
/// `{"ipv6": true, "fixed-cidr-v6": "fd00:1::/64"}`. A missing file is
/// the default (IPv4 only); a bad one is an error naming it.
pub fn default_bridge_ipv6(root: &std::path::Path) -> crate::NetResult<Option<crate::Subnet6>> {
    let path = root.join(DAEMON_JSON);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(crate::NetworkError::io(
                format!("reading {}", path.display()),
                e,
            ))
        }
    };
    #[derive(Deserialize)]
    struct Daemon {
        #[serde(default)]
        ipv6: bool,
        #[serde(default, rename = "fixed-cidr-v6")]
        fixed_cidr_v6: Option<String>,
    }
    let d: Daemon = serde_json::from_str(&text)
        .map_err(|e| crate::NetworkError::Invalid(format!("invalid {}: {e}", path.display())))?;
    match (d.ipv6, d.fixed_cidr_v6) {
        (true, Some(cidr)) => Ok(Some(cidr.parse()?)),
        (true, None) => Err(crate::NetworkError::Invalid(format!(
            "{}: \"ipv6\": true needs \"fixed-cidr-v6\" (the default bridge's IPv6 subnet)",
            path.display()
        ))),
        (false, _) => Ok(None),
    }
}

/// A MAC address as `--mac-address` takes it (`02:42:ac:11:00:02`, or
/// with `-`), `None` if it is not one (docker: "is not a valid mac
/// address").
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

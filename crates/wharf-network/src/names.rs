//! Kernel object names, unique per store root: several roots (parallel
//! tests, several users) share one kernel, and a name is all that tells
//! their bridges, veths and nftables tables apart.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The store root wharf uses by default; it gets docker-like names.
pub const DEFAULT_ROOT: &str = "/var/lib/wharf";

/// Linux's limit on interface names (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;

/// The names of one root's kernel objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootNames {
    /// Five hex digits of the root path's SHA-256.
    pub tag: String,
    default_root: bool,
}

impl RootNames {
    pub fn new(root: &Path) -> RootNames {
        let hash = Sha256::digest(root.as_os_str().as_encoded_bytes());
        RootNames {
            tag: hex::encode(hash)[..5].to_string(),
            default_root: root == Path::new(DEFAULT_ROOT),
        }
    }

    /// Whether this is the default root (`/var/lib/wharf`).
    pub fn is_default_root(&self) -> bool {
        self.default_root
    }

    /// The nftables table (family `inet`) holding all of this root's rules.
    pub fn table(&self) -> String {
        if self.default_root {
            "wharf".into()
        } else {
            format!("wharf-{}", self.tag)
        }
    }

    /// The default `bridge` network's Linux bridge (docker's `docker0`).
    pub fn default_bridge(&self) -> String {
        if self.default_root {
            "wharf0".into()
        } else {
            format!("wharf-{}", self.tag)
        }
    }

    /// A user-defined network's bridge (docker's `br-<id>`).
    pub fn user_bridge(&self, network_id: &str) -> String {
        let name = format!("wb{}-{}", self.tag, network_id);
        name[..IFNAME_MAX].to_string()
    }

    /// The host end of a container's veth on its `n`th network.
    pub fn veth(&self, container_id: &str, n: usize) -> String {
        let name = format!("wv{}{}{}", self.tag, n, container_id);
        name[..IFNAME_MAX].to_string()
    }

    /// Whether an interface name is one of this root's.
    pub fn owns_link(&self, name: &str) -> bool {
        name == self.default_bridge()
            || name.starts_with(&format!("wb{}-", self.tag))
            || name.starts_with(&format!("wv{}", self.tag))
    }
}

/// The nftables table of the root that owns bridge `name`, if it is a
/// wharf bridge (a default bridge or a user-defined network's).
pub fn root_table_of(name: &str) -> Option<String> {
    let hex = |t: &str| t.len() == 5 && t.bytes().all(|b| b.is_ascii_hexdigit());
    if name == "wharf0" {
        return Some("wharf".into());
    }
    if let Some(tag) = name.strip_prefix("wharf-").filter(|t| hex(t)) {
        return Some(format!("wharf-{tag}"));
    }
    let tag = name.strip_prefix("wb")?.get(..5).filter(|t| hex(t))?;
    name[7..].starts_with('-').then(|| format!("wharf-{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_differ_per_root() {
        let a = RootNames::new(Path::new("/tmp/a"));
        let b = RootNames::new(Path::new("/tmp/b"));
        let d = RootNames::new(Path::new(DEFAULT_ROOT));
        assert_ne!(a.tag, b.tag);
        assert_eq!(d.table(), "wharf");
        assert_eq!(d.default_bridge(), "wharf0");
        assert_eq!(a.table(), format!("wharf-{}", a.tag));
        let id = "0123456789abcdef0123456789abcdef";
        for name in [a.user_bridge(id), a.veth(id, 0), a.default_bridge()] {
            assert!(name.len() <= IFNAME_MAX, "{name}");
            assert!(a.owns_link(&name), "{name}");
            assert!(!b.owns_link(&name), "{name}");
        }
        assert_ne!(a.veth(id, 0), a.veth(id, 1));
        let table = Some(a.table());
        assert_eq!(root_table_of(&a.default_bridge()), table);
        assert_eq!(root_table_of(&a.user_bridge(id)), table);
        assert_eq!(root_table_of(&d.default_bridge()), Some(d.table()));
        for other in ["eth0", "docker0", &a.veth(id, 0), "wharf-xyz12", "br-0123"] {
            assert_eq!(root_table_of(other), None, "{other}");
        }
    }
}

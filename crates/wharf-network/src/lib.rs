//! wharf-network: container networking, docker's way.
//!
//! - [`manage`]: network objects (the predefined `bridge`, `host`, `none`;
//!   user-defined bridges) in the store, with subnets from [`ipam`].
//! - [`attach`]: a container's networks up before it starts, down after it
//!   stops — namespace, veths and bridges through [`netlink`], the root's
//!   nftables table through [`nft`], host ports through [`ports`],
//!   /etc/hosts and resolv.conf through [`files`].
//! - [`dns`]: the per-network DNS server of user-defined networks.
//! - [`lower`]: the macvlan and ipvlan drivers (a parent link's children).
//! - [`names`]: kernel object names, unique per store root.
//! - `step`: build steps on the default bridge (an endpoint without a
//!   container, owned by the build's process).

pub mod attach;
pub mod bridge_opts;
mod check;
mod check_host;
pub mod config;
pub mod dns;
mod docker_compat;
mod error;
pub mod files;
mod hotplug;
pub mod ipam;
mod lower;
pub mod manage;
pub mod names;
pub mod netlink;
pub mod nft;
pub mod ports;
mod rules;
mod step;
pub mod subnet;

pub use attach::{Attached, ContainerFiles, Leaving, Wiring};
pub use config::{ContainerNetConfig, NetMode};
pub use error::{NetResult, NetworkError};
pub use lower::is_lower;
pub use manage::{CreateNetwork, Networking};
pub use rules::unlink_bridge;
pub use subnet::{Subnet, Subnet6};

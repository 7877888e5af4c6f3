//! wharf-model: the container as Docker's API describes it, as Rust types.
//!
//! One typed record per container ([`ContainerRecord`]): identity, a
//! [`ContainerState`] whose [`Status`] moves only along Docker's lifecycle
//! ([`Status::can_become`]), and a [`Definition`] holding Docker's
//! `Config` (wharf-oci's [`ContainerConfig`]), [`HostConfig`],
//! [`NetworkingConfig`] and `Mounts` ([`MountPoint`]). The CLI, Compose and
//! the Engine API all create containers by filling these; the OCI spec,
//! the network plan and `inspect` ([`ContainerInspect`]) are derived from
//! them. Serialization follows docker 20.10's JSON (field names, order and
//! empty values), so `inspect` and API bodies match docker's key for key.
//!
//! The crate is data and rules only: no I/O.

mod error;
pub mod event;
pub mod filters;
pub mod health;
pub mod host_config;
pub mod inspect;
mod merge;
pub mod modes;
pub mod mount;
pub mod network;
pub mod record;
pub mod state;
pub mod system_info;
pub mod update;

pub use error::ModelError;
pub use event::{Event, EventType};
pub use filters::Filters;
pub use health::Probe;
pub use host_config::{
    list, DeviceMapping, DeviceRequest, HostConfig, LogConfig, PortBinding, PortMap, Resources,
    RestartPolicy, ThrottleDevice, Ulimit, WeightDevice,
};
pub use inspect::{ContainerInspect, GraphDriver};
pub use merge::merge_with_image;
pub use mount::{
    BindOptions, DriverConfig, Mount, MountKind, MountPoint, SpecMount, TmpfsOptions, VolumeMount,
    VolumeOptions,
};
pub use network::{
    EndpointIpamConfig, EndpointSettings, NetMode, NetworkSettings, NetworkingConfig, PortSet,
};
pub use record::{ContainerRecord, Definition, Resolved};
pub use state::{ContainerState, Health, HealthResult, HealthStatus, StateView, Status, ZERO_TIME};
pub use system_info::{IndexInfo, PluginsInfo, RegistryConfig, RuntimeInfo, SwarmInfo, SystemInfo};
pub use update::UpdateConfig;
pub use wharf_oci::config::HealthConfig;
pub use wharf_oci::ContainerConfig;

/// Docker's `Config` of a container (the image config's type).
pub type Config = ContainerConfig;

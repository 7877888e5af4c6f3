//! Volumes and the other mounts a container gets.
//!
//! A volume is a directory `volumes/<name>/_data` in the store plus a row
//! (driver `local`, labels, creation time); containers mount it by bind.
//! [`spec`] reads `-v`, `--mount` and `--tmpfs` the way docker's daemon
//! does, [`mounts`] turns them (and the image's `VOLUME`s) into the
//! container's mounts at create, [`copyup`] fills new volumes from the
//! image, and [`manage`] holds the `volume` verbs.

mod copyup;
pub(crate) mod manage;
pub(crate) mod mounts;
pub mod spec;

pub(crate) use manage::tree_size;
pub use manage::{VolumeCreate, VolumePruneReport, VolumeSummary};
pub use mounts::MountRequest;
pub use spec::{BindOptions, DriverConfig, Mount, TmpfsOptions, VolumeOptions};
pub use wharf_store::VolumeRecord;

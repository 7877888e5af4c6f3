//! Mounts in the container model: what the user asked for (docker's
//! `mount.Mount`, one `--mount`), what `inspect` lists (`MountPoint`), and
//! what the runtime mounts once volumes are resolved to host paths
//! ([`SpecMount`], [`VolumeMount`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Docker's `mount.Mount` (one `--mount`), serialized as docker's
/// `HostConfig.Mounts` entries are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    /// `volume`, `bind` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(skip_serializing_if = "is_false")]
    pub non_recursive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "is_false")]
    pub no_copy: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    #[serde(skip_serializing_if = "is_zero")]
    pub size_bytes: i64,
    /// Permission bits (docker's `os.FileMode`).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// One entry of `inspect`'s `Mounts`: a bind, volume or tmpfs as mounted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: String,
    /// Volumes only.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    /// Volumes only.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

/// A volume made with driver options (`volume create -o type=tmpfs ...`):
/// the monitor mounts it on `data` while the container runs, as docker's
/// local driver does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    /// The volume's `_data` directory (the mount point).
    pub data: PathBuf,
    /// `-o type=`: the filesystem type (`none` for a bind).
    pub fstype: String,
    /// `-o device=`.
    pub device: String,
    /// `-o o=`: mount flags and filesystem options, comma-separated.
    pub options: String,
}

/// One mount from `-v`, `--mount` or `--tmpfs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecMount {
    /// Absolute path inside the container.
    pub destination: String,
    pub kind: MountKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountKind {
    /// A bind mount of a host path or a volume's directory.
    Bind {
        source: PathBuf,
        read_only: bool,
        /// `rprivate`, `private`, `rshared`, `shared`, `rslave`, `slave`;
        /// Docker gives `-v` binds `rprivate` and named volumes none.
        propagation: Option<String>,
        /// `bind-recursive=disabled` sets this to false.
        recursive: bool,
    },
    /// A tmpfs; `options` are the user's (`size=64m`, `mode=1777`, `exec` ...),
    /// merged over Docker's `noexec,nosuid,nodev`.
    Tmpfs { options: Vec<String> },
}

impl SpecMount {
    /// `-v source:destination[:ro]` (Docker's bind defaults: recursive,
    /// rprivate).
    pub fn bind(
        source: impl Into<PathBuf>,
        destination: impl Into<String>,
        read_only: bool,
    ) -> SpecMount {
        SpecMount {
            destination: destination.into(),
            kind: MountKind::Bind {
                source: source.into(),
                read_only,
                propagation: Some("rprivate".into()),
                recursive: true,
            },
        }
    }

    /// `--tmpfs destination[:options]`.
    pub fn tmpfs(destination: impl Into<String>, options: &[&str]) -> SpecMount {
        SpecMount {
            destination: destination.into(),
            kind: MountKind::Tmpfs {
                options: options.iter().map(|s| s.to_string()).collect(),
            },
        }
    }
}

//! What `build_spec` is given: the `docker run` options, where the
//! container's files live, and the image config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::host::HostInfo;

/// The options `docker run` / `docker create` flags give. `Default` is what
/// `docker run IMAGE` means with no flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// The command after the image name; replaces the image's `Cmd`.
    pub cmd: Option<Vec<String>>,
    /// `--entrypoint`: replaces the image's `Entrypoint` and drops its `Cmd`.
    /// `Some(vec![])` (or `Some(vec!["".into()])`) is `--entrypoint ""`.
    pub entrypoint: Option<Vec<String>>,
    /// `--env-file` lines then `-e` values, in that order. `NAME` alone takes
    /// the value from wharf's own environment (and unsets `NAME` if wharf
    /// has none).
    pub env: Vec<String>,
    /// `-w`: must be absolute.
    pub workdir: Option<String>,
    /// `-u user[:group]` (names or IDs); `None` = the image's `User`.
    pub user: Option<String>,
    /// `--group-add`: extra groups (names from the image's /etc/group or IDs).
    pub group_add: Vec<String>,
    /// `-h`; `None` = the first 12 characters of the ID (the host's name
    /// with `--network host`).
    pub hostname: Option<String>,
    /// `--domainname`.
    pub domainname: Option<String>,
    /// `-t`.
    pub tty: bool,
    /// `-i` (the monitor's business; not part of the spec).
    pub interactive: bool,
    /// `--read-only`.
    pub read_only: bool,
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add`: `NET_ADMIN`, `cap_net_admin`, `ALL` ...
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt`: `no-new-privileges[=true|false]`,
    /// `seccomp=unconfined|builtin|<file or JSON>`, `apparmor=<profile>`,
    /// `label=...`, `writable-cgroups[=bool]`.
    pub security_opts: Vec<String>,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--memory-swap` in bytes (memory + swap); -1 = unlimited swap.
    pub memory_swap: Option<i64>,
    /// `--cpus`.
    pub cpus: Option<f64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--pids-limit`; 0 or negative = unlimited.
    pub pids_limit: Option<i64>,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<String>,
    /// `--init`: run the host's init binary (docker-init/tini) as PID 1.
    pub init: bool,
    /// `--network` as far as namespaces go.
    pub network_mode: NetworkMode,
    /// `--stop-signal` (used by the engine; not part of the spec).
    pub stop_signal: Option<String>,
    /// Extra mounts from `-v`, `--mount` and `--tmpfs`, sources already
    /// resolved to host paths by the caller.
    pub mounts: Vec<SpecMount>,
    /// `--sysctl key=value`.
    pub sysctls: Vec<(String, String)>,
    /// `--shm-size` in bytes; `None` or 0 = 64 MiB.
    pub shm_size: Option<i64>,
    /// `--label` (kept by the engine; Docker puts no labels in the spec).
    pub labels: BTreeMap<String, String>,
}

/// Which network namespace the container gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkMode {
    /// A new, empty network namespace (loopback only): `--network none`, or
    /// any network the engine attaches after the container is created.
    #[default]
    None,
    /// The host's network namespace: `--network host`.
    Host,
    /// Join an existing namespace: a bridge network's namespace prepared by
    /// the engine, or `--network container:X` (`/proc/<pid>/ns/net`).
    Namespace(PathBuf),
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

/// Host paths of the container's own files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPaths {
    /// The root filesystem (the overlay mountpoint). `build_spec` reads the
    /// image's /etc/passwd and /etc/group through it, so it must be mounted
    /// (or otherwise show the image's files) when the spec is built.
    pub rootfs: PathBuf,
    pub hostname_file: PathBuf,
    pub hosts_file: PathBuf,
    pub resolv_conf: PathBuf,
    /// A shareable IPC mode's /dev/shm directory, bind-mounted instead of the
    /// private tmpfs.
    pub shm_dir: Option<PathBuf>,
    /// On a cgroup v1 host, the tree of the container's own cgroups the
    /// monitor prepared (see `monitor::cgroup_view`), bound on
    /// /sys/fs/cgroup instead of libcontainer's emulation of it.
    pub cgroup_view: Option<PathBuf>,
}

/// Everything `build_spec` needs.
#[derive(Debug, Clone, Copy)]
pub struct SpecInput<'a> {
    /// The full 64-hex container ID.
    pub id: &'a str,
    /// The container's name (not part of the spec; kept for messages).
    pub name: &'a str,
    /// The image's `config`.
    pub image: &'a wharf_oci::ContainerConfig,
    pub opts: &'a RunOptions,
    pub paths: &'a ContainerPaths,
    /// cgroupfs parent, e.g. `/wharf`: the container's cgroup is
    /// `<parent>/<id>` under every controller.
    pub cgroup_parent: &'a str,
    pub host: &'a HostInfo,
}

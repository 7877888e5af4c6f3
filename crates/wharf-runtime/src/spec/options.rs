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
    /// `HostConfig.MaskedPaths` / `ReadonlyPaths`: `None` keeps docker's
    /// lists, an empty list is `--security-opt systempaths=unconfined`.
    /// A privileged container has neither, whatever these say.
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    /// The cgroup limits (docker's `Resources`: `--memory`, `--cpus`,
    /// `--pids-limit`, `--blkio-weight` ...); their `Ulimits` are not
    /// read (see `ulimits`). `Default` is no limit.
    pub resources: wharf_model::Resources,
    /// `--oom-score-adj`; 0 leaves the monitor's.
    pub oom_score_adj: i64,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<String>,
    /// `--init`: run the host's init binary (docker-init/tini) as PID 1.
    pub init: bool,
    /// `--network` as far as namespaces go.
    pub network_mode: NetworkMode,
    /// `--pid`.
    pub pid: Namespace,
    /// `--ipc` (and with it, what /dev/shm is).
    pub ipc: IpcMode,
    /// `--uts host`: the host's names (`Container` is not a UTS mode).
    pub uts: Namespace,
    /// `--cgroupns`; `None`: a private one on cgroup v2 only (docker's
    /// default, what build steps get).
    pub cgroupns: Option<Namespace>,
    /// `--link`'s variables, found at each start (the linked containers'
    /// addresses may change).
    pub link_env: Vec<String>,
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
    /// A build step: BuildKit gives the process the user's supplementary
    /// groups only, where `docker run` also lists the primary group
    /// (busybox `id` then shows no `groups=` for a user without any).
    pub supplementary_groups_only: bool,
    /// A build step: BuildKit mounts no /etc/hostname (the hostname is
    /// the UTS namespace's alone).
    pub no_hostname_file: bool,
}

impl RunOptions {
    /// What the spec needs of a container's record. The record's `Config`
    /// is already merged with the image's (command, env, user, working
    /// dir), so it is the spec's image config and none of those are set
    /// here; `network` is the namespace its resolved network mode gives.
    pub fn from_definition(d: &wharf_model::Definition, network: NetworkMode) -> RunOptions {
        let c = &d.config;
        let h = &d.host_config;
        let r = &h.resources;
        let nonzero = |v: i64| (v != 0).then_some(v);
        RunOptions {
            group_add: wharf_model::list(&h.group_add).to_vec(),
            hostname: (!c.hostname.is_empty()).then(|| c.hostname.clone()),
            domainname: (!c.domainname.is_empty()).then(|| c.domainname.clone()),
            tty: c.tty,
            interactive: c.open_stdin,
            read_only: h.readonly_rootfs,
            privileged: h.privileged,
            cap_add: wharf_model::list(&h.cap_add).to_vec(),
            cap_drop: wharf_model::list(&h.cap_drop).to_vec(),
            security_opts: wharf_model::list(&h.security_opt).to_vec(),
            masked_paths: h.masked_paths.clone(),
            readonly_paths: h.readonly_paths.clone(),
            resources: wharf_model::Resources {
                ulimits: None,
                ..r.clone()
            },
            oom_score_adj: h.oom_score_adj,
            ulimits: wharf_model::list(&r.ulimits)
                .iter()
                .map(|u| format!("{}={}:{}", u.name, u.soft, u.hard))
                .collect(),
            init: h.init.unwrap_or(false),
            network_mode: network,
            pid: Namespace::from_mode(&h.pid_mode),
            ipc: IpcMode::from_mode(&h.ipc_mode),
            uts: Namespace::from_mode(&h.uts_mode),
            cgroupns: match h.cgroupns_mode.as_str() {
                "" => None,
                m => Some(Namespace::from_mode(m)),
            },
            stop_signal: (!c.stop_signal.is_empty()).then(|| c.stop_signal.clone()),
            mounts: d.resolved.mounts.clone(),
            sysctls: h
                .sysctls
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            shm_size: nonzero(h.shm_size),
            labels: c.labels.clone().unwrap_or_default(),
            ..Default::default()
        }
    }
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

/// A namespace the container gets (`--pid`, `--uts`, `--cgroupns`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Namespace {
    /// Its own.
    #[default]
    Private,
    /// The host's: none is made.
    Host,
    /// `container:<id>`'s: the engine resolves it to [`Namespace::Join`]
    /// at each start (the other container must be running); unresolved,
    /// the spec gives a private one (create's check of the options).
    Container(String),
    /// The namespace at this path (`/proc/<pid>/ns/pid`).
    Join(PathBuf),
}

impl Namespace {
    /// A checked `HostConfig` mode (`host`, `private`, `container:<id>`).
    pub fn from_mode(mode: &str) -> Namespace {
        match mode {
            "host" => Namespace::Host,
            m => match m.strip_prefix("container:") {
                Some(id) => Namespace::Container(id.to_string()),
                None => Namespace::Private,
            },
        }
    }
}

/// `--ipc`: the IPC namespace and the /dev/shm that goes with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpcMode {
    /// Its own namespace and a private /dev/shm tmpfs.
    #[default]
    Private,
    /// Its own, and a /dev/shm other containers may join (a tmpfs the
    /// monitor mounts in the container's directory).
    Shareable,
    /// Its own, and no /dev/shm at all.
    None,
    /// The host's, and the host's /dev/shm.
    Host,
    /// `container:<id>`'s, resolved at each start into [`IpcMode::Join`].
    Container(String),
    /// The namespace at `ns`, and `shm` (the other container's /dev/shm).
    Join { ns: PathBuf, shm: PathBuf },
}

impl IpcMode {
    /// A checked `HostConfig.IpcMode`.
    pub fn from_mode(mode: &str) -> IpcMode {
        match mode {
            "shareable" => IpcMode::Shareable,
            "none" => IpcMode::None,
            "host" => IpcMode::Host,
            m => match m.strip_prefix("container:") {
                Some(id) => IpcMode::Container(id.to_string()),
                None => IpcMode::Private,
            },
        }
    }
}

pub use wharf_model::{MountKind, SpecMount};

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

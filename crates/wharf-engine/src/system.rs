//! `docker system df` (images and volumes) and `docker info`.

use std::collections::HashSet;

use wharf_store::{images, layers};

use crate::{Engine, EngineResult};

#[derive(Debug, Clone, Default)]
pub struct UsageRow {
    pub total: u64,
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}

#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    pub images: UsageRow,
    pub containers: UsageRow,
    pub volumes: UsageRow,
    pub build_cache: UsageRow,
}

impl Engine {
    pub fn disk_usage(&self) -> EngineResult<DiskUsage> {
        let (imgs, layer_rows) = self
            .store
            .read(|tx| Ok((images::list(tx)?, layers::all(tx)?)))?;
        let used: HashSet<_> = imgs.iter().flat_map(|i| i.layers.iter().cloned()).collect();
        // Shared layers count once, as in docker's SIZE column.
        let size: u64 = layer_rows
            .iter()
            .filter(|l| used.contains(&l.diff_id))
            .map(|l| l.size)
            .sum();
        let mut volumes = UsageRow::default();
        for v in self.list_volumes()? {
            let bytes = self.volume_size(&v.record.name);
            volumes.total += 1;
            volumes.size += bytes;
            if v.containers > 0 {
                volumes.active += 1;
            } else {
                volumes.reclaimable += bytes;
            }
        }
        Ok(DiskUsage {
            images: UsageRow {
                total: imgs.len() as u64,
                active: 0,
                size,
                reclaimable: size,
            },
            volumes,
            ..Default::default()
        })
    }
}

/// Docker's name for the filesystem under the store (`Backing Filesystem`).
fn backing_filesystem(root: &std::path::Path) -> &'static str {
    let Ok(fs) = nix::sys::statfs::statfs(root) else {
        return "<unknown>";
    };
    match fs.filesystem_type().0 as u64 {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        0x6969 => "nfs",
        0x8584_58F6 => "ramfs",
        _ => "<unknown>",
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// `PRETTY_NAME` and `VERSION_ID` of /etc/os-release.
fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let name = field("PRETTY_NAME");
    (
        if name.is_empty() {
            "Linux".into()
        } else {
            name
        },
        field("VERSION_ID"),
    )
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Entries of a /proc directory of this process.
fn count_entries(dir: &str) -> u64 {
    std::fs::read_dir(dir).map_or(0, |d| d.count() as u64)
}

/// The log drivers containers can use.
const LOG_DRIVERS: &[&str] = &["json-file"];
/// The network drivers (`none` is docker's `null`).
const NETWORK_DRIVERS: &[&str] = &["bridge", "host", "null"];

impl Engine {
    /// `docker info`: the host, the store and its objects, as docker's
    /// `GET /info` reports them.
    pub fn system_info(&self, debug: bool) -> EngineResult<wharf_model::SystemInfo> {
        use wharf_model::{IndexInfo, RegistryConfig, RuntimeInfo, SystemInfo};
        use wharf_runtime::spec::{CgroupLayout, HostInfo};
        let host = HostInfo::detect();
        let v1 = host.cgroup != CgroupLayout::V2;
        let has = |controller: &str, file: &str| host.cgroup_has(controller, file);
        let mut info = SystemInfo {
            id: self.store.engine_id()?,
            images: self.store.read(|tx| images::list(tx))?.len() as u64,
            ..Default::default()
        };
        for c in self.list_containers(true)? {
            info.containers += 1;
            if c.status == wharf_model::Status::Paused {
                info.containers_paused += 1;
            } else if c.status.is_running() {
                info.containers_running += 1;
            } else {
                info.containers_stopped += 1;
            }
        }
        info.driver = "overlay2".into();
        info.driver_status = [
            ("Backing Filesystem", backing_filesystem(self.store.root())),
            ("Supports d_type", "true"),
            // Mounted without redirect_dir: layer diffs are plain trees.
            ("Native Overlay Diff", "true"),
            ("userxattr", "false"),
        ]
        .map(|(k, v)| [k.to_string(), v.to_string()])
        .to_vec();
        info.plugins.volume = vec!["local".into()];
        info.plugins.network = NETWORK_DRIVERS.iter().map(|s| s.to_string()).collect();
        info.plugins.log = LOG_DRIVERS.iter().map(|s| s.to_string()).collect();
        info.memory_limit = has("memory", "memory.limit_in_bytes");
        info.swap_limit = host.swap_limit;
        info.kernel_memory = v1 && has("memory", "memory.kmem.limit_in_bytes");
        info.kernel_memory_tcp = v1 && has("memory", "memory.kmem.tcp.limit_in_bytes");
        info.cpu_cfs_period = has("cpu", "cpu.cfs_period_us");
        info.cpu_cfs_quota = has("cpu", "cpu.cfs_quota_us");
        info.cpu_shares = has("cpu", "cpu.shares");
        info.cpu_set = has("cpuset", "cpuset.cpus");
        // The root of v1's pids hierarchy has no pids.max: its mount counts.
        info.pids_limit = has("pids", "cgroup.procs");
        info.oom_kill_disable = v1 && has("memory", "memory.oom_control");
        let sysctl_on = |p: &str| read_trimmed(p).is_some_and(|v| v == "1");
        info.ipv4_forwarding = sysctl_on("/proc/sys/net/ipv4/ip_forward");
        info.bridge_nf_iptables = sysctl_on("/proc/sys/net/bridge/bridge-nf-call-iptables");
        info.bridge_nf_ip6tables = sysctl_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
        info.debug = debug;
        info.n_fd = count_entries("/proc/self/fd");
        info.n_goroutines = count_entries("/proc/self/task");
        info.system_time = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        info.logging_driver = "json-file".into();
        info.cgroup_driver = "cgroupfs".into();
        info.cgroup_version = match host.cgroup {
            CgroupLayout::V2 => "2",
            CgroupLayout::V1 | CgroupLayout::Hybrid => "1",
        }
        .into();
        info.kernel_version = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
        (info.operating_system, info.os_version) = os_release();
        info.os_type = "linux".into();
        info.architecture = std::env::consts::ARCH.into();
        info.index_server_address = "https://index.docker.io/v1/".into();
        let mut registries = RegistryConfig {
            insecure_registry_cidrs: vec!["127.0.0.0/8".into()],
            ..Default::default()
        };
        registries.index_configs.insert(
            "docker.io".into(),
            IndexInfo {
                name: "docker.io".into(),
                secure: true,
                official: true,
                ..Default::default()
            },
        );
        for r in wharf_registry::RegistryOptions::from_env().insecure {
            if r.contains('/') {
                registries.insecure_registry_cidrs.push(r);
            } else {
                registries.index_configs.insert(
                    r.clone(),
                    IndexInfo {
                        name: r,
                        ..Default::default()
                    },
                );
            }
        }
        info.registry_config = registries;
        info.ncpu = host.ncpu as u64;
        info.mem_total = mem_total();
        info.docker_root_dir = self.root.display().to_string();
        let env = |k: &str| {
            std::env::var(k)
                .or_else(|_| std::env::var(k.to_ascii_lowercase()))
                .unwrap_or_default()
        };
        info.http_proxy = env("HTTP_PROXY");
        info.https_proxy = env("HTTPS_PROXY");
        info.no_proxy = env("NO_PROXY");
        info.name = host.hostname.clone();
        info.server_version = env!("CARGO_PKG_VERSION").into();
        // The runtime is libcontainer, linked in; `runc` is the name
        // docker's clients ask for.
        info.runtimes.insert(
            "runc".into(),
            RuntimeInfo {
                path: "runc".into(),
            },
        );
        info.default_runtime = "runc".into();
        info.init_binary = host
            .init_binary
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or("docker-init".into(), |n| n.to_string_lossy().into_owned());
        if host.apparmor {
            info.security_options.push("name=apparmor".into());
        }
        if host.seccomp {
            info.security_options
                .push("name=seccomp,profile=default".into());
        }
        if host.cgroup == CgroupLayout::V2 {
            info.security_options.push("name=cgroupns".into());
        }
        // docker's daemon's warnings, where they apply here.
        let mut warnings = Vec::new();
        if !info.memory_limit {
            warnings.push("WARNING: No memory limit support".to_string());
        }
        if info.memory_limit && !info.swap_limit {
            warnings.push("WARNING: No swap limit support".to_string());
        }
        if !info.cpu_cfs_quota {
            warnings.push("WARNING: No cpu cfs quota support".to_string());
        }
        if !info.cpu_shares {
            warnings.push("WARNING: No cpu shares support".to_string());
        }
        if !info.ipv4_forwarding {
            warnings.push("WARNING: IPv4 forwarding is disabled".to_string());
        }
        if !info.bridge_nf_iptables {
            warnings.push("WARNING: bridge-nf-call-iptables is disabled".to_string());
        }
        if !info.bridge_nf_ip6tables {
            warnings.push("WARNING: bridge-nf-call-ip6tables is disabled".to_string());
        }
        info.warnings = (!warnings.is_empty()).then_some(warnings);
        Ok(info)
    }
}

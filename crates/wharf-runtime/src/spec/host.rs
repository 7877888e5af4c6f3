//! What the spec depends on about the host: architecture, kernel, cgroup
//! layout, CPUs, this process's hard rlimits and capabilities, which kernel
//! features exist. `HostInfo::detect()` reads it all (a few small /proc and
//! /sys reads); tests build one by hand.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Capability;

use super::caps;
use super::rlimits::Resource;

/// How cgroups are mounted at /sys/fs/cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// Only v1 controller hierarchies.
    V1,
    /// A single cgroup2 hierarchy.
    V2,
    /// v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified
    /// (runtimes treat this as v1).
    Hybrid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostInfo {
    /// `GOARCH` of this machine (`amd64`, `arm64` ...).
    pub arch: String,
    /// Kernel version and major revision (6.18 → `(6, 18)`).
    pub kernel: (u32, u32),
    pub cgroup: CgroupLayout,
    /// CPUs this process may run on (Go's `runtime.NumCPU()`).
    pub ncpu: usize,
    /// This process's hard rlimits; a resource missing here is unlimited.
    pub hard_limits: BTreeMap<Resource, u64>,
    /// Capabilities this process holds (its effective set): the most a
    /// container can get.
    pub capabilities: Vec<Capability>,
    /// The kernel has seccomp filters.
    pub seccomp: bool,
    /// AppArmor is enabled.
    pub apparmor: bool,
    /// The memory cgroup can limit swap (v1: `memory.memsw.*` exists).
    pub swap_limit: bool,
    /// Sysctls Docker sets in a container's own network namespace, those
    /// this kernel has: unprivileged ping and ports below 1024.
    pub default_net_sysctls: Vec<(String, String)>,
    /// The init binary for `--init` (docker-init or tini), if installed;
    /// looked for only when asked ([`HostInfo::detect_for`]).
    pub init_binary: Option<PathBuf>,
    /// The host's hostname (the default with `--network host`).
    pub hostname: String,
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

impl HostInfo {
    /// What a container with `--init` (`init`) or without needs to know.
    pub fn detect_for(init: bool) -> HostInfo {
        let mut host = HostInfo::detect_common();
        if init {
            host.init_binary = find_init_binary();
        }
        host
    }

    /// Everything, the init binary included.
    pub fn detect() -> HostInfo {
        HostInfo::detect_for(true)
    }

    fn detect_common() -> HostInfo {
        let cgroup = detect_cgroup_layout(Path::new(CGROUP_ROOT));
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        HostInfo {
            arch: wharf_oci::platform::go_arch().to_string(),
            kernel: read_trimmed("/proc/sys/kernel/osrelease")
                .and_then(|r| parse_kernel_version(&r))
                .unwrap_or((0, 0)),
            cgroup,
            ncpu: cpus_available(),
            hard_limits: Resource::ALL
                .into_iter()
                .filter_map(|r| Some((r, r.current_hard_limit()?)))
                .collect(),
            capabilities: status_field(&status, "CapEff")
                .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
                .map(caps::from_mask)
                .unwrap_or_else(|| caps::all_known().collect()),
            seccomp: status_field(&status, "Seccomp").is_some(),
            apparmor: read_trimmed("/sys/module/apparmor/parameters/enabled")
                .is_some_and(|v| v.starts_with('Y')),
            swap_limit: detect_swap_limit(cgroup),
            default_net_sysctls: detect_net_sysctls(),
            init_binary: None,
            hostname: read_trimmed("/proc/sys/kernel/hostname").unwrap_or_default(),
        }
    }

    /// The hard limit of `resource` (`u64::MAX` = unlimited).
    pub fn hard_limit(&self, resource: Resource) -> u64 {
        self.hard_limits.get(&resource).copied().unwrap_or(u64::MAX)
    }

    /// Whether this host's cgroups can apply a limit: on v1, the
    /// `controller` hierarchy has `v1_file`; on v2, the controller is
    /// available (`blkio` is v2's `io`; limits v2 lacks are the caller's
    /// to know). Probed only when a flag needs it, so a container without
    /// such flags pays nothing.
    pub fn cgroup_has(&self, controller: &str, v1_file: &str) -> bool {
        match self.cgroup {
            CgroupLayout::V1 | CgroupLayout::Hybrid => Path::new(CGROUP_ROOT)
                .join(controller)
                .join(v1_file)
                .exists(),
            CgroupLayout::V2 => {
                let name = if controller == "blkio" {
                    "io"
                } else {
                    controller
                };
                read_trimmed(Path::new(CGROUP_ROOT).join("cgroup.controllers"))
                    .is_some_and(|c| c.split_whitespace().any(|c| c == name))
            }
        }
    }

    /// The CPUs (`kind` = `cpus`) or memory nodes (`mems`) this host's
    /// root cpuset has, in the kernel's list form; read when asked.
    pub fn cpuset(&self, kind: &str) -> String {
        let file = match self.cgroup {
            CgroupLayout::V2 => format!("cpuset.{kind}.effective"),
            _ => format!("cpuset/cpuset.{kind}"),
        };
        read_trimmed(Path::new(CGROUP_ROOT).join(file)).unwrap_or_default()
    }

    pub fn nofile_hard(&self) -> u64 {
        self.hard_limit(Resource::Nofile)
    }

    pub fn nproc_hard(&self) -> u64 {
        self.hard_limit(Resource::Nproc)
    }
}

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// A `Name:\tvalue` line of /proc/self/status.
fn status_field(status: &str, name: &str) -> Option<String> {
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_string())
    })
}

/// `6.18.44-fc-v669` → `(6, 18)`.
pub(crate) fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()
        .map(|m| {
            let digits: String = m.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or(0)
        })
        .unwrap_or(0);
    Some((major, minor))
}

fn is_cgroup2(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

fn detect_cgroup_layout(root: &Path) -> CgroupLayout {
    if is_cgroup2(root) {
        CgroupLayout::V2
    } else if is_cgroup2(&root.join("unified")) {
        CgroupLayout::Hybrid
    } else {
        CgroupLayout::V1
    }
}

fn detect_swap_limit(layout: CgroupLayout) -> bool {
    match layout {
        CgroupLayout::V1 | CgroupLayout::Hybrid => Path::new(CGROUP_ROOT)
            .join("memory/memory.memsw.limit_in_bytes")
            .exists(),
        CgroupLayout::V2 => read_trimmed(Path::new(CGROUP_ROOT).join("cgroup.controllers"))
            .is_some_and(|c| c.split_whitespace().any(|c| c == "memory")),
    }
}

fn cpus_available() -> usize {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .count()
            .max(1),
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

fn in_user_namespace() -> bool {
    read_trimmed("/proc/self/uid_map")
        .is_some_and(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
}

fn detect_net_sysctls() -> Vec<(String, String)> {
    let exists = |key: &str| Path::new("/proc/sys").join(key.replace('.', "/")).exists();
    let mut sysctls = Vec::new();
    // Docker skips unprivileged ping inside a user namespace.
    if !in_user_namespace() && exists("net.ipv4.ping_group_range") {
        sysctls.push(("net.ipv4.ping_group_range".into(), "0 2147483647".into()));
    }
    if exists("net.ipv4.ip_unprivileged_port_start") {
        sysctls.push(("net.ipv4.ip_unprivileged_port_start".into(), "0".into()));
    }
    sysctls
}

/// Docker's lookup of `docker-init` (PATH, then its libexec dirs), then tini
/// (docker-init is tini). Only a static binary can run in any image: a
/// dynamically linked one (Debian's plain `tini`) is passed over.
fn find_init_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    for extra in [
        "/usr/local/libexec/docker",
        "/usr/libexec/docker",
        "/usr/local/lib/docker",
        "/usr/lib/docker",
    ] {
        dirs.push(extra.into());
    }
    ["docker-init", "tini-static", "tini"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| is_executable(p) && is_static_elf(p))
}

/// An ELF executable without a program interpreter (PT_INTERP).
fn is_static_elf(path: &Path) -> bool {
    // The headers are at the front: reading the whole binary (tini-static
    // is ~1 MB) cost every container start half a millisecond.
    let mut bytes = Vec::with_capacity(4096);
    let Ok(f) = fs::File::open(path) else {
        return false;
    };
    if std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut bytes).is_err() {
        return false;
    }
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    // 64-bit little-endian ELF only (the architectures wharf runs on).
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum as usize).all(|i| {
        let at = phoff as usize + i * phentsize as usize;
        // Headers past what was read: not known to be static.
        bytes
            .get(at..at + 4)
            .is_some_and(|t| t != 3u32.to_le_bytes())
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(parse_kernel_version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_kernel_version("4.8"), Some((4, 8)));
        assert_eq!(parse_kernel_version("3.12-rc5"), Some((3, 12)));
        assert_eq!(parse_kernel_version("garbage"), None);
    }

    #[test]
    fn only_static_binaries_serve_as_init() {
        assert!(!is_static_elf(Path::new("/bin/sh")), "dash is dynamic");
        assert!(is_static_elf(Path::new("/bin/busybox")), "busybox-static");
        assert!(!is_static_elf(Path::new("/etc/passwd")));
    }

    #[test]
    fn detect_works_on_this_host() {
        let host = HostInfo::detect();
        assert!(matches!(
            host.cgroup,
            CgroupLayout::V1 | CgroupLayout::V2 | CgroupLayout::Hybrid
        ));
        assert!(host.nofile_hard() > 0);
        // `ulimit -Hn` of this very process.
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        #[allow(clippy::unnecessary_cast)]
        let hard = lim.rlim_max as u64;
        assert_eq!(host.nofile_hard(), hard);
        assert!(host.ncpu >= 1);
        assert!(host.kernel.0 >= 3);
        assert_eq!(host.arch, wharf_oci::platform::go_arch());
        assert!(!host.capabilities.is_empty());
        // The layout agrees with what is mounted.
        let root_is_v2 = is_cgroup2(Path::new(CGROUP_ROOT));
        assert_eq!(host.cgroup == CgroupLayout::V2, root_is_v2);
    }
}

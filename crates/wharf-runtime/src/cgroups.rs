//! The host's cgroups as the engine sees them: which limits the kernel
//! offers (docker's `sysinfo`, for `info` and for dropping what it cannot
//! do). v1, v2 and hybrid hosts (the v1 controllers rule there, as for
//! runc and libcontainer).

use std::path::Path;

use crate::spec::CgroupLayout;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The limits a container can be given on this host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupFeatures {
    pub memory: bool,
    pub swap: bool,
    pub kernel_memory: bool,
    pub kernel_memory_tcp: bool,
    pub oom_kill_disable: bool,
    pub cpu_cfs_period: bool,
    pub cpu_cfs_quota: bool,
    pub cpu_shares: bool,
    pub cpuset: bool,
    pub pids: bool,
    /// `blkio.weight` (v1, needs the CFQ/BFQ scheduler) or `io.weight`/
    /// `io.bfq.weight` (v2).
    pub blkio_weight: bool,
}

/// The v2 controllers the root cgroup hands down.
fn v2_controllers(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

impl CgroupFeatures {
    pub fn detect(layout: CgroupLayout) -> CgroupFeatures {
        CgroupFeatures::detect_at(Path::new(CGROUP_ROOT), layout)
    }

    fn detect_at(root: &Path, layout: CgroupLayout) -> CgroupFeatures {
        match layout {
            CgroupLayout::V1 | CgroupLayout::Hybrid => {
                let has = |file: &str| root.join(file).exists();
                CgroupFeatures {
                    memory: has("memory/memory.limit_in_bytes"),
                    swap: has("memory/memory.memsw.limit_in_bytes"),
                    kernel_memory: has("memory/memory.kmem.limit_in_bytes"),
                    kernel_memory_tcp: has("memory/memory.kmem.tcp.limit_in_bytes"),
                    oom_kill_disable: has("memory/memory.oom_control"),
                    cpu_cfs_period: has("cpu/cpu.cfs_period_us"),
                    cpu_cfs_quota: has("cpu/cpu.cfs_quota_us"),
                    cpu_shares: has("cpu/cpu.shares"),
                    cpuset: has("cpuset/cpuset.cpus"),
                    pids: root.join("pids").is_dir(),
                    blkio_weight: has("blkio/blkio.weight") || has("blkio/blkio.bfq.weight"),
                }
            }
            CgroupLayout::V2 => {
                let c = v2_controllers(root);
                let on = |name: &str| c.iter().any(|x| x == name);
                let io_weight = on("io")
                    && std::fs::read_dir(root)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .any(|e| {
                            e.path().join("io.weight").exists()
                                || e.path().join("io.bfq.weight").exists()
                        });
                CgroupFeatures {
                    memory: on("memory"),
                    swap: on("memory"),
                    kernel_memory: false,
                    kernel_memory_tcp: false,
                    oom_kill_disable: false,
                    cpu_cfs_period: on("cpu"),
                    cpu_cfs_quota: on("cpu"),
                    cpu_shares: on("cpu"),
                    cpuset: on("cpuset"),
                    pids: on("pids"),
                    blkio_weight: io_weight,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_features_come_from_the_files_present() {
        let t = tempfile::tempdir().unwrap();
        for f in [
            "memory/memory.limit_in_bytes",
            "cpu/cpu.shares",
            "cpu/cpu.cfs_period_us",
        ] {
            let p = t.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::fs::create_dir_all(t.path().join("pids")).unwrap();
        let f = CgroupFeatures::detect_at(t.path(), CgroupLayout::Hybrid);
        assert!(f.memory && f.cpu_shares && f.cpu_cfs_period && f.pids);
        assert!(!f.swap && !f.cpu_cfs_quota && !f.cpuset && !f.blkio_weight);
    }

    #[test]
    fn v2_features_come_from_the_root_controllers() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        let f = CgroupFeatures::detect_at(t.path(), CgroupLayout::V2);
        assert!(f.memory && f.swap && f.cpu_shares && f.cpuset && f.pids);
        assert!(!f.kernel_memory && !f.oom_kill_disable && !f.blkio_weight);
    }
}

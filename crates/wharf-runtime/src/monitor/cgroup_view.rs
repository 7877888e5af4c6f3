//! The container's /sys/fs/cgroup on a cgroup v1 (or hybrid) host.
//!
//! Docker shows a v1 container a tmpfs with one read-only bind mount per
//! hierarchy, each of the container's own cgroup. libcontainer builds that
//! itself from a `cgroup` mount, inside the container's init, at ~0.15 ms
//! per hierarchy (every step re-verifies /proc through pathrs): 1.5 ms of
//! every start here. The monitor builds the same tree on the host instead,
//! with plain syscalls, just before the start; the spec rbinds it onto
//! /sys/fs/cgroup (one mount for libcontainer) and the monitor detaches its
//! own copy as soon as the container's mount namespace holds one.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::RuntimeError;

/// The v1 controllers libcontainer moves a container into (libcgroups'
/// own list); in other hierarchies (`name=systemd`) it stays in its
/// monitor's cgroup.
const MANAGED: [&str; 12] = [
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "memory",
    "pids",
    "perf_event",
    "blkio",
    "net_prio",
    "net_cls",
    "freezer",
];

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One v1 hierarchy the container sees.
struct Hierarchy {
    /// Its directory under /sys/fs/cgroup.
    name: String,
    /// The container's cgroup in it.
    dir: PathBuf,
    /// libcontainer puts the container in a cgroup of its own there.
    managed: bool,
}

/// The v1 hierarchies, from this process's /proc/self/cgroup (`own`).
fn hierarchies(own: &str, cgroups_path: &Path) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            continue; // the v2 hierarchy of a hybrid host: not shown, as libcontainer does
        }
        let name = ctrls.strip_prefix("name=").unwrap_or(ctrls);
        let managed = ctrls.split(',').any(|c| MANAGED.contains(&c));
        let inner = if managed {
            cgroups_path.to_path_buf()
        } else {
            PathBuf::from(path)
        };
        let rel = inner.strip_prefix("/").unwrap_or(&inner);
        out.push(Hierarchy {
            name: name.to_string(),
            dir: Path::new(CGROUP_ROOT).join(name).join(rel),
            managed,
        });
    }
    out
}

/// The container's own cgroup directories (v1, managed hierarchies),
/// from this process's /proc/self/cgroup (`own`); none on a v2 host.
pub fn container_cgroup_dirs(own: &str, cgroups_path: &Path) -> Vec<PathBuf> {
    hierarchies(own, cgroups_path)
        .into_iter()
        .filter(|h| h.managed)
        .map(|h| h.dir)
        .collect()
}

/// Build the tree at `at` for a container whose cgroups are at
/// `cgroups_path` (`/wharf/<id>`) in every managed hierarchy; those are
/// created here (libcontainer finds them and applies the limits).
pub fn prepare(at: &Path, cgroups_path: &Path) -> Result<(), RuntimeError> {
    let sys = |what: String, e: nix::Error| RuntimeError::io(what, e.into());
    std::fs::create_dir_all(at).map_err(|e| RuntimeError::io("creating the cgroup view", e))?;
    mount(
        Some("tmpfs"),
        at,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=755,size=64k"),
    )
    .map_err(|e| sys(format!("mounting a tmpfs on {}", at.display()), e))?;
    let result = (|| {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| RuntimeError::io("reading /proc/self/cgroup", e))?;
        for Hierarchy {
            name, dir: source, ..
        } in hierarchies(&own, cgroups_path)
        {
            if !Path::new(CGROUP_ROOT).join(&name).is_dir() {
                continue;
            }
            std::fs::create_dir_all(&source)
                .map_err(|e| RuntimeError::io(format!("creating {}", source.display()), e))?;
            let target = at.join(&name);
            std::fs::create_dir(&target)
                .map_err(|e| RuntimeError::io(format!("creating {}", target.display()), e))?;
            bind_read_only(&source, &target)
                .map_err(|e| sys(format!("bind-mounting {}", source.display()), e))?;
        }
        // Co-mounted hierarchies' aliases (cpu -> cpu,cpuacct), as on the host.
        if let Ok(entries) = std::fs::read_dir(CGROUP_ROOT) {
            for e in entries.flatten() {
                if let Ok(link) = std::fs::read_link(e.path()) {
                    let _ = std::os::unix::fs::symlink(link, at.join(e.file_name()));
                }
            }
        }
        mount(
            None::<&str>,
            at,
            None::<&str>,
            MsFlags::MS_REMOUNT
                | MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            Some("mode=755,size=64k"),
        )
        .map_err(|e| sys(format!("remounting {} read-only", at.display()), e))
    })();
    if result.is_err() {
        release(at);
    }
    result
}

fn bind_read_only(source: &Path, target: &Path) -> nix::Result<()> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )?;
    mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
}

/// Detach the host's copy of the tree (the container keeps its own) and
/// remove its mount point; nothing to do when there is none.
pub fn release(at: &Path) {
    match umount2(at, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => tracing::warn!(path = %at.display(), error = %e, "detaching the cgroup view"),
    }
    let _ = std::fs::remove_dir(at);
}

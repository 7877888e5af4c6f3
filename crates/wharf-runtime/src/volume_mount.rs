//! Volumes made with driver options (`volume create -o type=tmpfs -o
//! device=tmpfs -o o=size=64m`, `-o type=none -o o=bind -o device=/src`):
//! like docker's local driver, the filesystem is mounted on the volume's
//! `_data` when the first container using it starts and unmounted when the
//! last one stops. `volumes/<name>/users/<container id>` records who holds
//! it, under a flock, so several monitors (and `rm` of a container whose
//! monitor was killed) agree on when to unmount.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::error::go_errno;
use crate::rootfs::is_mounted;
use crate::RuntimeError;

pub use wharf_model::VolumeMount;

/// moby/sys/mount's option words: (name, clear instead of set, flags).
const FLAGS: &[(&str, bool, MsFlags)] = &[
    ("defaults", false, MsFlags::empty()),
    ("ro", false, MsFlags::MS_RDONLY),
    ("rw", true, MsFlags::MS_RDONLY),
    ("suid", true, MsFlags::MS_NOSUID),
    ("nosuid", false, MsFlags::MS_NOSUID),
    ("dev", true, MsFlags::MS_NODEV),
    ("nodev", false, MsFlags::MS_NODEV),
    ("exec", true, MsFlags::MS_NOEXEC),
    ("noexec", false, MsFlags::MS_NOEXEC),
    ("sync", false, MsFlags::MS_SYNCHRONOUS),
    ("async", true, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", false, MsFlags::MS_DIRSYNC),
    ("remount", false, MsFlags::MS_REMOUNT),
    ("mand", false, MsFlags::MS_MANDLOCK),
    ("nomand", true, MsFlags::MS_MANDLOCK),
    ("atime", true, MsFlags::MS_NOATIME),
    ("noatime", false, MsFlags::MS_NOATIME),
    ("diratime", true, MsFlags::MS_NODIRATIME),
    ("nodiratime", false, MsFlags::MS_NODIRATIME),
    ("bind", false, MsFlags::MS_BIND),
    ("rbind", false, MsFlags::MS_BIND.union(MsFlags::MS_REC)),
    ("relatime", false, MsFlags::MS_RELATIME),
    ("norelatime", true, MsFlags::MS_RELATIME),
    ("strictatime", false, MsFlags::MS_STRICTATIME),
    ("nostrictatime", true, MsFlags::MS_STRICTATIME),
];

/// Split `o=` into mount flags and the filesystem's own data.
pub fn parse_options(options: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for o in options.split(',').filter(|o| !o.is_empty()) {
        match FLAGS.iter().find(|(name, _, _)| *name == o) {
            Some((_, true, f)) => flags.remove(*f),
            Some((_, false, f)) => flags.insert(*f),
            None => data.push(o),
        }
    }
    (flags, data.join(","))
}

struct Held {
    _lock: Flock<File>,
    users: PathBuf,
}

fn hold(v: &VolumeMount) -> Result<Held, RuntimeError> {
    let dir = v.data.parent().unwrap_or(Path::new("/"));
    let path = dir.join("mount.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| RuntimeError::io(format!("opening {}", path.display()), e))?;
    let lock = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| RuntimeError::io(format!("locking {}", path.display()), e.into()))?;
    Ok(Held {
        _lock: lock,
        users: dir.join("users"),
    })
}

/// Container `id` starts using `v`: mount it unless it already is.
pub fn acquire(v: &VolumeMount, id: &str) -> Result<(), RuntimeError> {
    let held = hold(v)?;
    if !is_mounted(&v.data) {
        let (flags, data) = parse_options(&v.options);
        let data_opt = (!data.is_empty()).then_some(data.as_str());
        mount(
            Some(v.device.as_str()),
            &v.data,
            Some(v.fstype.as_str()),
            flags,
            data_opt,
        )
        .map_err(|e| {
            let mut what = format!("mount {}:{}", v.device, v.data.display());
            if !flags.is_empty() {
                what.push_str(&format!(", flags: {:#x}", flags.bits()));
            }
            if !data.is_empty() {
                what.push_str(&format!(", data: {data}"));
            }
            RuntimeError::Start {
                message: format!(
                    "error while mounting volume '{}': failed to mount local volume: {what}: {}",
                    v.data.display(),
                    go_errno(e)
                ),
                code: 125,
            }
        })?;
    }
    std::fs::create_dir_all(&held.users)
        .and_then(|()| std::fs::write(held.users.join(id), b""))
        .map_err(|e| RuntimeError::io("recording a volume's user", e))
}

/// Container `id` stops using `v`: unmount it when nobody else does.
pub fn release(v: &VolumeMount, id: &str) {
    let held = match hold(v) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "releasing a volume");
            return;
        }
    };
    let _ = std::fs::remove_file(held.users.join(id));
    let in_use = std::fs::read_dir(&held.users).is_ok_and(|mut d| d.next().is_some());
    if !in_use && is_mounted(&v.data) {
        if let Err(e) = umount2(&v.data, MntFlags::MNT_DETACH) {
            tracing::warn!(path = %v.data.display(), error = %e, "unmounting a volume");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let (flags, data) = parse_options("size=64m,ro,mode=0700,noexec,rw");
        assert_eq!(flags, MsFlags::MS_NOEXEC);
        assert_eq!(data, "size=64m,mode=0700");
        assert_eq!(parse_options("bind").0, MsFlags::MS_BIND);
        assert_eq!(
            go_errno(nix::errno::Errno::ENOENT),
            "no such file or directory"
        );
    }
}

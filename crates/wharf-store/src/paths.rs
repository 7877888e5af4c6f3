//! Temp-name generation and the sweeping of what dead processes left behind.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `<what>-<pid>-<n>`: unique within this machine while the process lives,
/// and tells a later sweeper whether the writer is still alive.
pub(crate) fn temp_name(what: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{what}-{}-{n}", std::process::id())
}

fn owner_pid(name: &str) -> Option<i32> {
    let mut parts = name.rsplitn(3, '-');
    let _n = parts.next()?;
    parts.next()?.parse().ok()
}

/// Whether process `pid` runs (what owns a `tmp/` entry or a build
/// step's endpoint).
pub fn pid_alive(pid: i32) -> bool {
    // kill(pid, 0): ESRCH means gone; EPERM still means alive.
    pid == std::process::id() as i32
        || pid > 0
            && !matches!(
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                Err(nix::errno::Errno::ESRCH)
            )
}

/// Whether the process that named a `tmp/` entry `name` still runs.
pub(crate) fn entry_alive(name: &str) -> bool {
    owner_pid(name).is_some_and(pid_alive)
}

/// Entries of `dir` whose writer process is gone.
pub(crate) fn dead_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| !e.file_name().to_str().is_some_and(entry_alive))
        .map(|e| e.path())
        .collect()
}

/// Remove entries of `dir` whose writer process is gone. Errors are logged,
/// not returned: sweeping is housekeeping and must never fail a command.
pub(crate) fn sweep_dead(dir: &Path) {
    for path in dead_entries(dir) {
        tracing::debug!(path = %path.display(), "removing leftover of a dead process");
        remove_any(&path);
    }
}

/// Remove a file or a whole tree, ignoring "not found". A tree with
/// something still mounted in it (a container's netns or cgroup view, when
/// a removal raced its start) has those mounts detached, then goes too.
pub(crate) fn remove_any(path: &Path) {
    let res = match fs::symlink_metadata(path) {
        // Any error, not only EBUSY: inside a mounted cgroup view the
        // walk meets cgroupfs files, whose unlink fails with EPERM.
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).or_else(|e| {
            if detach_mounts_under(path) {
                fs::remove_dir_all(path)
            } else {
                Err(e)
            }
        }),
        Ok(_) => fs::remove_file(path),
        Err(_) => return,
    };
    if let Err(e) = res {
        tracing::warn!(path = %path.display(), error = %e, "could not remove");
    }
}

/// Whether the tree at `path` has fewer than `entries` entries and
/// `bytes` bytes of files (looked at no further than that).
pub(crate) fn smaller_than(path: &Path, entries: usize, bytes: u64) -> bool {
    let mut seen = 0usize;
    let mut size = 0u64;
    let mut todo = vec![path.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(list) = fs::read_dir(&dir) else {
            continue;
        };
        for e in list.flatten() {
            seen += 1;
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                todo.push(e.path());
            } else {
                size += m.len();
            }
            if seen >= entries || size >= bytes {
                return false;
            }
        }
    }
    true
}

/// Mount points at or under `dir`, deepest first (the order to unmount
/// them in).
pub fn mounts_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<std::path::PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| std::path::PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect();
    points.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    points.dedup();
    points
}

/// Lazily unmount every mount point under `dir`; whether there was any.
fn detach_mounts_under(dir: &Path) -> bool {
    let points = mounts_under(dir);
    for m in &points {
        let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
    }
    !points.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_small_below_both_limits() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/f"), vec![0u8; 100]).unwrap();
        assert!(smaller_than(dir.path(), 10, 1000));
        assert!(!smaller_than(dir.path(), 3, 1000), "3 entries");
        assert!(!smaller_than(dir.path(), 10, 100), "100 bytes");
    }

    #[test]
    fn temp_names_carry_the_pid() {
        let n = temp_name("layer");
        assert_eq!(owner_pid(&n), Some(std::process::id() as i32));
        assert!(pid_alive(owner_pid(&n).unwrap()));
        assert_eq!(owner_pid("junk"), None);
    }
}

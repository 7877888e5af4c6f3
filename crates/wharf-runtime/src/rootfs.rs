//! The container's root filesystem: an overlay of the image's layer trees
//! with a private upper dir.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::RuntimeError;

/// Overlay lower dirs, top first, each tree only once: a layer that occurs
/// twice in an image is fully repeated by its upper occurrence, so the lower
/// one adds nothing (and overlayfs refuses the same dir twice).
pub fn dedup_lowers(layers_top_first: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    layers_top_first
        .iter()
        .filter(|l| seen.insert((*l).clone()))
        .cloned()
        .collect()
}

/// Mount `lowers` (top first) + `upper`/`work` at `target`.
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    empty: &Path,
) -> Result<(), RuntimeError> {
    let lowers = dedup_lowers(lowers);
    // An image without layers (FROM scratch) still needs one lower dir.
    let lowerdir = if lowers.is_empty() {
        empty.display().to_string()
    } else {
        lowers
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    };
    // Docker's overlay2 options: no redirect_dir/metacopy, so layer diffs
    // stay plain trees that the layer writer can read back.
    let data = format!(
        "lowerdir={lowerdir},upperdir={},workdir={},redirect_dir=off,metacopy=off",
        upper.display(),
        work.display()
    );
    if data.len() >= 4000 {
        return Err(RuntimeError::Unsupported(format!(
            "too many image layers to mount ({})",
            lowers.len()
        )));
    }
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|e| RuntimeError::Mount {
        target: target.to_path_buf(),
        source: std::io::Error::from(e),
    })
}

/// `--ipc shareable`'s /dev/shm: a tmpfs of `size` bytes at `target`
/// (docker's `containers/<id>/mounts/shm`), which containers joining this
/// one's IPC namespace bind too.
pub fn mount_shm(target: &Path, size: i64) -> Result<(), RuntimeError> {
    let failed = |source: std::io::Error| RuntimeError::Mount {
        target: target.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(target).map_err(failed)?;
    if is_mounted(target) {
        return Ok(());
    }
    mount(
        Some("shm"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(format!("mode=1777,size={size}").as_str()),
    )
    .map_err(|e| failed(e.into()))
}

/// Unmount, tolerating "not mounted".
pub fn unmount(target: &Path) -> Result<(), RuntimeError> {
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(RuntimeError::Mount {
            target: target.to_path_buf(),
            source: std::io::Error::from(e),
        }),
    }
}

/// Whether `target` is a mount point (its device differs from its parent's).
pub fn is_mounted(target: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let t = target.display().to_string();
    mounts
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(t.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_dirs_keep_the_top_occurrence() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            dedup_lowers(&[p("/c"), p("/a"), p("/b"), p("/a")]),
            vec![p("/c"), p("/a"), p("/b")]
        );
    }
}

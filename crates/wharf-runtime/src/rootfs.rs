//! The container's root filesystem: an overlay of the image's layer trees,
//! under docker's init layer, with a private upper dir.

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

/// Docker's init layer (moby's `initlayer.Setup`): what every container's
/// root has on top of its image. `/.dockerenv` tells programs they run in a
/// container, `/etc/mtab` lists the mounts; the others are mount points the
/// runtime binds over, made here so that no container's writable layer
/// gets them (docker's `diff` and `commit` do not see them; `export` does).
/// Paths are relative; `None` is a directory, `Some("")` an empty file.
const INIT_LAYER: &[(&str, Option<&str>)] = &[
    ("dev/pts", None),
    ("dev/shm", None),
    ("proc", None),
    ("sys", None),
    (".dockerenv", Some("")),
    ("etc/resolv.conf", Some("")),
    ("etc/hosts", Some("")),
    ("etc/hostname", Some("")),
    ("dev/console", Some("")),
    ("etc/mtab", Some("/proc/mounts")),
];

/// Make the init layer at `dir` unless it is there: built at `scratch`
/// (a fresh path on the same filesystem) and renamed into place, so a
/// reader sees all of it or nothing, and two makers do not clash. One
/// per store: its files are the same for every container (docker makes
/// one per container, at create).
pub fn ensure_init_layer(dir: &Path, scratch: &Path) -> Result<(), RuntimeError> {
    use std::os::unix::fs::{symlink, DirBuilderExt, OpenOptionsExt};
    if dir.symlink_metadata().is_ok() {
        return Ok(());
    }
    let io = |what: &str, p: &Path, e| RuntimeError::io(format!("{what} {}", p.display()), e);
    let build = || -> Result<(), RuntimeError> {
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true).mode(0o755);
        dirs.create(scratch)
            .map_err(|e| io("creating", scratch, e))?;
        for (rel, kind) in INIT_LAYER {
            let p = scratch.join(rel);
            if let Some(parent) = p.parent() {
                dirs.create(parent).map_err(|e| io("creating", parent, e))?;
            }
            match kind {
                None => dirs.create(&p).map_err(|e| io("creating", &p, e))?,
                Some("") => {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o755)
                        .open(&p)
                        .map_err(|e| io("creating", &p, e))?;
                    // The umask may have narrowed it: docker's are 0755.
                    std::fs::set_permissions(
                        &p,
                        std::os::unix::fs::PermissionsExt::from_mode(0o755),
                    )
                    .map_err(|e| io("setting the mode of", &p, e))?;
                }
                Some(target) => symlink(target, &p).map_err(|e| io("creating", &p, e))?,
            }
        }
        Ok(())
    };
    let built = build().and_then(|()| match std::fs::rename(scratch, dir) {
        Ok(()) => Ok(()),
        // Another process made it meanwhile.
        Err(_) if dir.symlink_metadata().is_ok() => Ok(()),
        Err(e) => Err(io("renaming into place", dir, e)),
    });
    if scratch.symlink_metadata().is_ok() {
        let _ = std::fs::remove_dir_all(scratch);
    }
    built
}

/// Mount `lowers` (top first) + `upper`/`work` at `target`.
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    empty: &Path,
) -> Result<(), RuntimeError> {
    mount_overlay_with(lowers, upper, work, target, empty, false)
}

/// [`mount_overlay`]; `volatile`: for a root whose writable layer goes
/// with the container (`--rm`). Unmounting an overlay syncs its whole
/// upper file system (`ovl_sync_fs`: every dirty page and buffer of the
/// store's disk, anyone's, and a journal commit that the next container's
/// file creations wait for): ~1,000 block writes per `run --rm` on a busy
/// host. A volatile overlay skips that sync; after a host crash its
/// contents may be incomplete, which does not matter for a layer about to
/// be deleted.
pub fn mount_overlay_with(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    empty: &Path,
    volatile: bool,
) -> Result<(), RuntimeError> {
    if volatile {
        // A volatile mount leaves this behind and refuses to mount again
        // over it (a `restart` of a `--rm` container): its last mount was
        // unmounted by us, so nothing is lost.
        let _ = std::fs::remove_dir_all(work.join("work/incompat/volatile"));
    }
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
        "lowerdir={lowerdir},upperdir={},workdir={},redirect_dir=off,metacopy=off{}",
        upper.display(),
        work.display(),
        if volatile { ",volatile" } else { "" }
    );
    if data.len() >= 4000 {
        // mount(2) takes at most a page of options: absolute layer paths
        // fill it at ~35 layers (docker's overlay2 goes to 125).
        return mount_overlay_fsconfig(&lowers, upper, work, target, volatile).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENOSYS) || e.raw_os_error() == Some(libc::EINVAL) {
                RuntimeError::Unsupported(format!(
                    "too many image layers to mount ({}): this kernel's overlayfs takes \
                     them only as one page of options (Linux 6.8 lifts that)",
                    lowers.len()
                ))
            } else {
                RuntimeError::Mount {
                    target: target.to_path_buf(),
                    source: e,
                }
            }
        });
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

/// The overlay of [`mount_overlay_with`] by the new mount API: each lower
/// dir is its own `lowerdir+` parameter (Linux 6.8+), so no option string
/// bounds the number of layers (overlayfs's own bound, 500, does).
fn mount_overlay_fsconfig(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    volatile: bool,
) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    // From <linux/mount.h>.
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_SET_FLAG: libc::c_uint = 0;
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
    let cstr = |b: &[u8]| {
        CString::new(b).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let fd = |r: libc::c_long| {
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            // SAFETY: the kernel just returned this new descriptor to us.
            Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
        }
    };
    // SAFETY: a NUL-terminated name and a flag; returns a new fd or -1.
    let fs = fd(unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) })?;
    let config = |cmd: libc::c_uint, key: Option<&CString>, value: Option<&CString>| {
        let ptr = |c: Option<&CString>| c.map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: NUL-terminated strings (or null) that outlive the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                cmd,
                ptr(key),
                ptr(value),
                0,
            )
        };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    let set = |key: &str, value: &[u8]| {
        config(
            FSCONFIG_SET_STRING,
            Some(&cstr(key.as_bytes())?),
            Some(&cstr(value)?),
        )
    };
    for l in lowers {
        set("lowerdir+", l.as_os_str().as_bytes())?;
    }
    set("upperdir", upper.as_os_str().as_bytes())?;
    set("workdir", work.as_os_str().as_bytes())?;
    set("redirect_dir", b"off")?;
    set("metacopy", b"off")?;
    if volatile {
        config(FSCONFIG_SET_FLAG, Some(&cstr(b"volatile")?), None)?;
    }
    config(FSCONFIG_CMD_CREATE, None, None)?;
    // SAFETY: a configured fs context fd and flags; returns a new fd or -1.
    let mnt = fd(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })?;
    let target = cstr(target.as_os_str().as_bytes())?;
    // SAFETY: a mount fd, an empty path with F_EMPTY_PATH, a NUL-terminated target.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
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
    fn init_layer_has_dockers_files() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("init");
        ensure_init_layer(&dir, &t.path().join("tmp-init")).unwrap();
        let env = std::fs::symlink_metadata(dir.join(".dockerenv")).unwrap();
        assert!(env.is_file() && env.len() == 0);
        assert_eq!(env.permissions().mode() & 0o7777, 0o755);
        assert_eq!(
            std::fs::read_link(dir.join("etc/mtab")).unwrap(),
            PathBuf::from("/proc/mounts")
        );
        assert!(dir.join("dev/pts").is_dir() && dir.join("etc/hosts").is_file());
        assert!(!t.path().join("tmp-init").exists());
        // Made once: a second call finds it.
        ensure_init_layer(&dir, &t.path().join("tmp-init2")).unwrap();
        assert!(!t.path().join("tmp-init2").exists());
    }

    #[test]
    fn lower_dirs_keep_the_top_occurrence() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            dedup_lowers(&[p("/c"), p("/a"), p("/b"), p("/a")]),
            vec![p("/c"), p("/a"), p("/b")]
        );
    }
}

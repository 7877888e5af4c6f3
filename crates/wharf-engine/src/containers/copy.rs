//! `docker cp`: files between a container's filesystem and the host.
//!
//! Paths inside the container are resolved as the container would see
//! them: symlinks are followed, but absolute targets and `..` stay inside
//! its root. Writing into the container never follows a symlink that is
//! already there: it is replaced, so a container cannot redirect a copy
//! onto the host. Paths in a volume or bind mount reach its source, as
//! in docker. (A running container racing the copy is not defended
//! against yet.)

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use wharf_runtime::monitor::ContainerDir;
use wharf_runtime::rootfs;

use crate::{Engine, EngineError, EngineResult};

/// The container's root filesystem, mounted for as long as this lives.
pub struct MountedRoot {
    pub path: PathBuf,
    mounted_here: bool,
    /// The container's bind mounts and volumes: (destination, host source).
    binds: Vec<(PathBuf, PathBuf)>,
}

impl MountedRoot {
    /// `path` in the container as a host path: resolved inside the root,
    /// then through the bind mount or volume it falls in (the deepest), as
    /// docker's cp reaches into volumes.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = resolve_in_root(&self.path, path);
        let inside = Path::new("/").join(p.strip_prefix(&self.path).unwrap_or(Path::new("")));
        self.binds
            .iter()
            .filter(|(d, _)| inside.starts_with(d))
            .max_by_key(|(d, _)| d.components().count())
            .map(|(d, source)| source.join(inside.strip_prefix(d).unwrap_or(Path::new(""))))
            .unwrap_or(p)
    }
}

impl Drop for MountedRoot {
    fn drop(&mut self) {
        if self.mounted_here {
            let _ = rootfs::unmount(&self.path);
        }
    }
}

/// Resolve `path` inside `root` the way a chrooted process would.
pub fn resolve_in_root(root: &Path, path: &str) -> PathBuf {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    let mut pending: Vec<std::ffi::OsString> = Path::new(path)
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            parts.pop();
            continue;
        }
        let candidate: PathBuf = parts.iter().chain(std::iter::once(&part)).collect();
        match fs::read_link(root.join(&candidate)) {
            Ok(target) if hops < 40 => {
                hops += 1;
                if target.is_absolute() {
                    parts.clear();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => pending.push(n.to_os_string()),
                        Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => parts.push(part),
        }
    }
    root.join(parts.iter().collect::<PathBuf>())
}

fn io(what: &str, p: &Path, e: std::io::Error) -> EngineError {
    EngineError::io(format!("{what} {}", p.display()), e)
}

/// Copy `src` to `dst` (which must not exist), recursively, keeping modes,
/// owners, times, symlinks and device nodes, never following a symlink at
/// the destination.
pub fn copy_tree(src: &Path, dst: &Path) -> EngineResult<()> {
    let meta = fs::symlink_metadata(src).map_err(|e| io("reading", src, e))?;
    if let Ok(existing) = fs::symlink_metadata(dst) {
        if existing.file_type().is_symlink() || !(existing.is_dir() && meta.is_dir()) {
            if existing.is_dir() && !existing.file_type().is_symlink() {
                fs::remove_dir_all(dst).map_err(|e| io("replacing", dst, e))?;
            } else {
                fs::remove_file(dst).map_err(|e| io("replacing", dst, e))?;
            }
        }
    }
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(src).map_err(|e| io("reading", src, e))?;
        symlink(&target, dst).map_err(|e| io("creating", dst, e))?;
    } else if ft.is_dir() {
        if !dst.is_dir() {
            fs::create_dir(dst).map_err(|e| io("creating", dst, e))?;
        }
        for e in fs::read_dir(src)
            .map_err(|e| io("reading", src, e))?
            .flatten()
        {
            copy_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(|e| io("chmod", dst, e))?;
    } else if ft.is_file() {
        fs::copy(src, dst).map_err(|e| io("copying to", dst, e))?;
    } else {
        // FIFOs, sockets and device nodes: made again (we run as root).
        nix::sys::stat::mknod(
            dst,
            nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT),
            nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777),
            meta.rdev(),
        )
        .map_err(|e| io("creating", dst, e.into()))?;
    }
    let _ = std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()));
    if !ft.is_symlink() && meta.mode() & 0o7000 != 0 {
        // chown clears set-id bits: put them back.
        let _ = fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777));
    }
    let time = |s: i64, ns: i64| nix::sys::time::TimeSpec::new(s, ns);
    let _ = nix::sys::stat::utimensat(
        None,
        dst,
        &time(meta.atime(), meta.atime_nsec()),
        &time(meta.mtime(), meta.mtime_nsec()),
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    );
    Ok(())
}

/// Docker's destination rule: into an existing directory, keep the name.
pub fn destination(
    dest: &Path,
    src_name: &std::ffi::OsStr,
    dest_has_slash: bool,
) -> EngineResult<PathBuf> {
    match fs::metadata(dest) {
        Ok(m) if m.is_dir() => Ok(dest.join(src_name)),
        Ok(_) => Ok(dest.to_path_buf()),
        Err(_) if dest_has_slash => Err(EngineError::NotFound(format!(
            "destination directory {} does not exist",
            dest.display()
        ))),
        Err(_) => Ok(dest.to_path_buf()),
    }
}

impl Engine {
    /// Mount (if it is not running) and return the container's root.
    pub fn container_root(&self, name: &str) -> EngineResult<MountedRoot> {
        let c = self.refresh(self.find_container(name)?)?;
        let dir = ContainerDir::new(self.store.root(), &c.id);
        let path = dir.rootfs();
        let m = self.monitor_config(&c.id)?;
        let binds = m
            .options
            .mounts
            .iter()
            .filter_map(|mount| match &mount.kind {
                wharf_runtime::spec::MountKind::Bind { source, .. } => {
                    Some((PathBuf::from(&mount.destination), source.clone()))
                }
                _ => None,
            })
            .collect();
        if rootfs::is_mounted(&path) {
            return Ok(MountedRoot {
                path,
                mounted_here: false,
                binds,
            });
        }
        fs::create_dir_all(dir.empty()).map_err(|e| io("creating", &dir.empty(), e))?;
        rootfs::mount_overlay(&m.lowers, &dir.upper(), &dir.work(), &path, &dir.empty())
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        Ok(MountedRoot {
            path,
            mounted_here: true,
            binds,
        })
    }

    /// `docker cp CONTAINER:SRC DEST`.
    pub fn copy_from_container(
        &self,
        name: &str,
        src: &str,
        dest: &Path,
        dest_has_slash: bool,
    ) -> EngineResult<()> {
        let root = self.container_root(name)?;
        let from = root.resolve(src);
        if fs::symlink_metadata(&from).is_err() {
            return Err(EngineError::NotFound(format!(
                "Could not find the file {src} in container {name}"
            )));
        }
        let name_in = from.file_name().unwrap_or_default().to_os_string();
        let to = if src.ends_with("/.") {
            dest.to_path_buf()
        } else {
            destination(dest, &name_in, dest_has_slash)?
        };
        copy_tree(&from, &to)
    }

    /// `docker cp SRC CONTAINER:DEST`.
    pub fn copy_to_container(&self, name: &str, src: &Path, dest: &str) -> EngineResult<()> {
        if fs::symlink_metadata(src).is_err() {
            return Err(EngineError::NotFound(format!(
                "Could not find the file {} on the host",
                src.display()
            )));
        }
        let root = self.container_root(name)?;
        let to = root.resolve(dest);
        let name_in = src.file_name().unwrap_or_default().to_os_string();
        let to = if src.to_string_lossy().ends_with("/.") {
            to
        } else {
            destination(&to, &name_in, dest.ends_with('/'))?
        };
        copy_tree(src, &to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_stays_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        symlink("usr/lib", root.join("lib")).unwrap();
        symlink("/etc", root.join("abs")).unwrap();
        symlink("../../../../..", root.join("up")).unwrap();
        assert_eq!(resolve_in_root(root, "/lib/x"), root.join("usr/lib/x"));
        assert_eq!(
            resolve_in_root(root, "/abs/passwd"),
            root.join("etc/passwd")
        );
        assert_eq!(
            resolve_in_root(root, "/up/etc/passwd"),
            root.join("etc/passwd")
        );
        assert_eq!(resolve_in_root(root, "../../x"), root.join("x"));
    }
}

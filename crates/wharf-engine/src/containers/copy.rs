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
use std::path::{Path, PathBuf};

use wharf_image::fscopy::{copy_tree, resolve_in_root, CopyOptions};

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

fn io(what: &str, p: &Path, e: std::io::Error) -> EngineError {
    EngineError::io(format!("{what} {}", p.display()), e)
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
        let m = self.launch_config(&c);
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
        Ok(copy_tree(&from, &to, &CopyOptions::default())?)
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
        Ok(copy_tree(src, &to, &CopyOptions::default())?)
    }
}

//! `docker cp`: files between a container's filesystem and the host.
//!
//! Paths inside the container are resolved as the container would see
//! them, mounts included: symlinks are followed, but absolute targets and
//! `..` stay inside its view (a link in a volume to `/x` is the
//! container's `/x`), as docker does. A running container may change its
//! files during the copy, so the lookup and the copy go through fds that
//! never follow a symlink it holds ([`RootView`], [`copy_fd`]): swapping a
//! directory for a link to the host can fail a copy, never redirect it.
//! Writing never follows a symlink that is already there: it is replaced.

use std::fs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use wharf_image::fscopy::{copy_fd, open_parent, open_source, CopyOptions, Dest, Lookup, RootView};
use wharf_image::ImageError;

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
    /// The container's filesystem as the container sees it: the rootfs
    /// with its bind mounts and volumes at their destinations, in the
    /// order they are mounted.
    pub fn view(&self) -> EngineResult<RootView> {
        let mut view = RootView::open(&self.path)?;
        for (destination, source) in &self.binds {
            view.mount(destination, source)?;
        }
        Ok(view)
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
        if !c.state.status.is_running() {
            // The last run's monitor may still be unmounting it.
            wharf_runtime::monitor::lifetime::wait_gone(&dir);
        }
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

    /// `docker cp CONTAINER:SRC DEST`. The last component of SRC is
    /// copied as it is (a symlink as the link) unless SRC ends in `/` or
    /// `/.`, or `follow_link` (`-L`) is set.
    pub fn copy_from_container(
        &self,
        name: &str,
        src: &str,
        dest: &Path,
        dest_has_slash: bool,
        follow_link: bool,
    ) -> EngineResult<()> {
        let src = &docker_clean(src);
        let root = self.container_root(name)?;
        let view = root.view()?;
        let find = |p: &Path, follow: bool| match view.lookup(p, follow) {
            Ok(Lookup::Found(e)) => Ok(e),
            Ok(Lookup::Missing { .. }) | Err(ImageError::NotFound(_)) => Err(not_found(p, name)),
            Err(e) => Err(EngineError::from(e)),
        };
        let src_path = Path::new(src);
        let mut entry = find(src_path, src.ends_with('/') || src.ends_with("/."))?;
        if follow_link && entry.is_symlink() {
            // As docker's client: the link read once, then what its target
            // names (from the link's directory when relative), copied under
            // the link's name.
            let target = src_path
                .parent()
                .unwrap_or(Path::new("/"))
                .join(entry.link_target()?);
            entry = find(&target, false)?;
        }
        let to = match src_path.file_name().or(entry.name()) {
            Some(n) if !src.ends_with("/.") => destination(dest, n, dest_has_slash)?,
            // SRC/. or the root: its contents, into DEST.
            _ => dest.to_path_buf(),
        };
        let (dir, file) = open_parent(&to)?;
        Ok(copy_fd(
            entry.fd.as_fd(),
            src_path,
            Dest::In(dir.as_fd(), file),
            &to,
            &CopyOptions::default(),
        )?)
    }

    /// `docker cp SRC CONTAINER:DEST`. DEST is followed to the end, inside
    /// the container: onto a directory, SRC goes into it; anything else
    /// there is replaced.
    pub fn copy_to_container(&self, name: &str, src: &Path, dest: &str) -> EngineResult<()> {
        if fs::symlink_metadata(src).is_err() {
            return Err(EngineError::NotFound(format!(
                "Could not find the file {} on the host",
                src.display()
            )));
        }
        let from = open_source(src)?;
        let dest = &docker_clean(dest);
        let root = self.container_root(name)?;
        let view = root.view()?;
        let dest_path = Path::new(dest);
        let opts = CopyOptions::default();
        let copy = |to: Dest, shown: &Path| copy_fd(from.as_fd(), src, to, shown, &opts);
        // SRC/. (or a SRC that names no entry): its contents.
        let name_in = src
            .file_name()
            .filter(|_| !src.to_string_lossy().ends_with("/."));
        match view.lookup(dest_path, true) {
            Ok(Lookup::Found(e)) if e.is_dir() => match name_in {
                Some(n) => copy(Dest::In(e.fd.as_fd(), n), &dest_path.join(n)),
                None => copy(Dest::Dir(e.fd.as_fd()), dest_path),
            },
            Ok(Lookup::Found(e)) => match &e.parent {
                Some((dir, file)) => copy(Dest::In(dir.as_fd(), file), dest_path),
                None => {
                    return Err(EngineError::Invalid(format!(
                        "cannot replace {dest} in container {name}: it is a mount point"
                    )))
                }
            },
            Ok(Lookup::Missing { .. }) if dest.ends_with('/') => {
                return Err(EngineError::NotFound("no such directory".into()))
            }
            Ok(Lookup::Missing { dir, name: file }) => {
                copy(Dest::In(dir.as_fd(), &file), dest_path)
            }
            // Docker names the directory DEST would be in.
            Err(ImageError::NotFound(_)) => {
                return Err(not_found(
                    dest_path.parent().unwrap_or(Path::new("/")),
                    name,
                ))
            }
            Err(e) => return Err(e.into()),
        }?;
        Ok(())
    }
}

/// Docker 20.10's CLI wording (its daemon says "Could not find the file
/// PATH in container NAME"; newer CLIs show that).
/// What `stat` says of a path in a container (docker's
/// `X-Docker-Container-Path-Stat`).
#[derive(Debug, Clone)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// `st_mode`.
    pub mode: u32,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub link_target: String,
}

impl Engine {
    /// Stat `path` in the container's view; a final symlink is followed
    /// (inside the view) only if `follow` (the API's PUT, whose path is
    /// where an archive goes) or the path ends in `/` or `/.`, as docker.
    pub fn stat_container_path(
        &self,
        name: &str,
        path: &str,
        follow: bool,
    ) -> EngineResult<PathStat> {
        let root = self.container_root(name)?;
        let view = root.view()?;
        let p = Path::new(path);
        let clean = docker_clean(path);
        let follow = follow || clean.ends_with('/') || clean.ends_with("/.");
        let entry = match view.lookup(Path::new(&clean), follow) {
            Ok(Lookup::Found(e)) => e,
            Ok(Lookup::Missing { .. }) | Err(ImageError::NotFound(_)) => {
                return Err(not_found(p, name))
            }
            Err(e) => return Err(e.into()),
        };
        let st = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&entry.fd))
            .map_err(|e| EngineError::io(format!("stat {path}"), e.into()))?;
        let link_target = if entry.is_symlink() {
            entry.link_target()?.display().to_string()
        } else {
            String::new()
        };
        Ok(PathStat {
            name: entry
                .name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "/".into()),
            size: st.st_size,
            mode: st.st_mode,
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
            link_target,
        })
    }
}

/// A container path as docker's daemon takes it (`container.ResolvePath`):
/// absolute and cleaned lexically, so `/a/link/../b` is `/a/b` whatever
/// `link` is, keeping a trailing `/` or `/.`, which say "a directory" and
/// "its contents" (`archive.PreserveTrailingDotOrSeparator`). The walk
/// that follows resolves what is left inside the container either way.
fn docker_clean(path: &str) -> String {
    let mut out = format!("/{}", wharf_dockerfile::clean_context_path(path));
    let base = path.rsplit('/').next().unwrap_or_default();
    if base == "." && !out.ends_with("/.") {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push('.');
    }
    if path.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    out
}

fn not_found(path: &Path, container: &str) -> EngineError {
    EngineError::NotFound(format!(
        "No such container:path: {container}:{}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::docker_clean;

    #[test]
    fn paths_clean_as_dockers_daemon_does() {
        for (given, clean) in [
            ("/data/l/../../etc/hostname", "/etc/hostname"),
            ("/../../x", "/x"),
            ("data/./x/", "/data/x/"),
            ("/w/.", "/w/."),
            ("/.", "/."),
            ("/", "/"),
            ("/a/..", "/"),
            ("/a/b/..", "/a"),
        ] {
            assert_eq!(docker_clean(given), clean, "{given}");
        }
    }
}

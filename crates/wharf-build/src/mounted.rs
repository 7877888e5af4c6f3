//! A stage's filesystem mounted for the builder itself: an overlay of its
//! layer trees with a fresh upper dir, under the store's `tmp/` (so a
//! killed build leaves nothing a later command trips on). COPY writes into
//! it and the upper dir becomes the step's layer; COPY --from reads the
//! source stage's one; a RUN step's bind mount of the context gets a
//! throw-away view of it.

use std::collections::BTreeSet;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag};
use nix::sys::time::TimeSpec;

use wharf_image::ingest::adopt_upper;
use wharf_oci::Digest;
use wharf_runtime::rootfs;
use wharf_store::Store;

use crate::cache::StepResult;
use crate::{BuildError, BuildResult};

pub struct Mounted {
    dir: PathBuf,
    merged: PathBuf,
    mounted: bool,
}

impl Mounted {
    /// Mount `lowers` (top first) with an empty upper dir.
    pub fn new(store: &Store, lowers: &[PathBuf]) -> BuildResult<Mounted> {
        Mounted::mount(store, lowers, |_| Ok(()))
    }

    /// A throw-away view of the host directory `dir` (a context directory
    /// a RUN step bind-mounts): `dir` is the overlay's only lower, so `rw`
    /// writes land in the upper and are dropped with it, as in BuildKit;
    /// `hidden` (paths relative to `dir`, what `.dockerignore` excludes)
    /// are whited out in the upper before the mount, so they are not there.
    pub fn throwaway(store: &Store, dir: &Path, hidden: &[&str]) -> BuildResult<Mounted> {
        // Overlay options cannot hold a path with `,` or `:` (a context
        // may be anywhere): the lower is named by its fd.
        let lower = wharf_image::fscopy::open_dir(dir)?;
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", lower.as_raw_fd()));
        Mounted::mount(store, &[by_fd], |upper| {
            let mut made = BTreeSet::new();
            for rel in hidden {
                whiteout(upper, rel, &mut made)?;
            }
            // Made directories stand for the lower ones: same owner, mode
            // and times (set last, as the whiteouts touched them).
            for d in made {
                let m = fs::symlink_metadata(dir.join(&d))
                    .map_err(|e| BuildError::io(format!("reading {d}"), e))?;
                let at = upper.join(&d);
                std::os::unix::fs::lchown(&at, Some(m.uid()), Some(m.gid()))
                    .and_then(|()| fs::set_permissions(&at, m.permissions()))
                    .map_err(|e| BuildError::io(format!("hiding below {d}"), e))?;
                let times = [
                    TimeSpec::new(m.atime(), m.atime_nsec()),
                    TimeSpec::new(m.mtime(), m.mtime_nsec()),
                ];
                nix::sys::stat::utimensat(
                    None,
                    &at,
                    &times[0],
                    &times[1],
                    nix::sys::stat::UtimensatFlags::NoFollowSymlink,
                )
                .map_err(|e| BuildError::io(format!("hiding below {d}"), e.into()))?;
            }
            Ok(())
        })
    }

    /// Mount `lowers` with a fresh upper dir, `prepare`d first.
    fn mount(
        store: &Store,
        lowers: &[PathBuf],
        prepare: impl FnOnce(&Path) -> BuildResult<()>,
    ) -> BuildResult<Mounted> {
        let dir = store.temp_path("build");
        let merged = dir.join("merged");
        let mut m = Mounted {
            dir,
            merged,
            mounted: false,
        };
        for d in ["upper", "work", "merged", "empty"] {
            fs::create_dir_all(m.dir.join(d))
                .map_err(|e| BuildError::io("creating a build mount", e))?;
        }
        prepare(&m.dir.join("upper"))?;
        rootfs::mount_overlay(
            lowers,
            &m.dir.join("upper"),
            &m.dir.join("work"),
            &m.merged,
            &m.dir.join("empty"),
        )
        .map_err(|e| {
            BuildError::io(
                "mounting a build step's filesystem",
                std::io::Error::other(e),
            )
        })?;
        m.mounted = true;
        Ok(m)
    }

    /// The stage's root as a chrooted process would see it.
    pub fn root(&self) -> &Path {
        &self.merged
    }

    /// Unmount and turn the changes into a stored layer (with `cache`
    /// recorded in the same transaction).
    pub fn into_layer(mut self, store: &Store, cache: &StepResult) -> BuildResult<Digest> {
        self.unmount()?;
        commit_upper(store, &self.dir.join("upper"), cache)
    }

    fn unmount(&mut self) -> BuildResult<()> {
        if self.mounted {
            rootfs::unmount(&self.merged).map_err(|e| {
                BuildError::io("unmounting a build mount", std::io::Error::other(e))
            })?;
            self.mounted = false;
        }
        Ok(())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = self.unmount();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// An overlayfs whiteout (a 0:0 character device) at `rel` in `upper`,
/// hiding the lower's entry; the directories on the way are made and
/// listed in `made` (relative paths).
fn whiteout(upper: &Path, rel: &str, made: &mut BTreeSet<String>) -> BuildResult<()> {
    let (parent, _) = rel.rsplit_once('/').unwrap_or(("", rel));
    let mut prefix = String::new();
    for part in parent.split('/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if made.insert(prefix.clone()) {
            fs::create_dir(upper.join(&prefix))
                .map_err(|e| BuildError::io(format!("hiding below {prefix}"), e))?;
        }
    }
    nix::sys::stat::mknod(&upper.join(rel), SFlag::S_IFCHR, Mode::empty(), 0)
        .map_err(|e| BuildError::io(format!("hiding {rel}"), e.into()))
}

/// Store an upper dir as a layer (moving it into the store), recording
/// the cache entry with it.
pub fn commit_upper(store: &Store, upper: &Path, cache: &StepResult) -> BuildResult<Digest> {
    if let Some(epoch) = cache.epoch {
        clamp_times(upper, epoch)?;
    }
    let layer = adopt_upper(store, upper)?;
    let diff_id = layer.diff_id().clone();
    let entry = cache.entry(Some(diff_id.clone()));
    wharf_image::commit::commit_layer(store, layer, |tx| match &entry {
        Some(e) => wharf_store::build_cache::put(tx, e),
        None => Ok(()),
    })?;
    Ok(diff_id)
}

/// BuildKit's `rewrite-timestamp`: every entry under `dir` (itself
/// included) modified after `epoch` gets `epoch` as its times, so a layer
/// made at another moment is the same layer. Setting a child's times does
/// not touch its directory's, so the order does not matter.
fn clamp_times(dir: &Path, epoch: i64) -> BuildResult<()> {
    let mut todo = vec![dir.to_path_buf()];
    let at = TimeSpec::new(epoch, 0);
    while let Some(p) = todo.pop() {
        let m = fs::symlink_metadata(&p)
            .map_err(|e| BuildError::io(format!("reading {}", p.display()), e))?;
        if m.is_dir() {
            for e in fs::read_dir(&p)
                .map_err(|e| BuildError::io(format!("reading {}", p.display()), e))?
            {
                let e = e.map_err(|e| BuildError::io(format!("reading {}", p.display()), e))?;
                todo.push(e.path());
            }
        }
        if m.mtime() > epoch || m.atime() > epoch {
            nix::sys::stat::utimensat(
                None,
                &p,
                &at,
                &at,
                nix::sys::stat::UtimensatFlags::NoFollowSymlink,
            )
            .map_err(|e| BuildError::io(format!("setting times of {}", p.display()), e.into()))?;
        }
    }
    Ok(())
}

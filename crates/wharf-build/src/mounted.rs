//! A stage's filesystem mounted for the builder itself: an overlay of its
//! layer trees with a fresh upper dir, under the store's `tmp/` (so a
//! killed build leaves nothing a later command trips on). COPY writes into
//! it and the upper dir becomes the step's layer; COPY --from reads the
//! source stage's one.

use std::fs;
use std::path::{Path, PathBuf};

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

/// Store an upper dir as a layer (moving it into the store), recording
/// the cache entry with it.
pub fn commit_upper(store: &Store, upper: &Path, cache: &StepResult) -> BuildResult<Digest> {
    let layer = adopt_upper(store, upper)?;
    let diff_id = layer.diff_id().clone();
    let entry = cache.entry(Some(diff_id.clone()));
    wharf_image::commit::commit_layer(store, layer, |tx| match &entry {
        Some(e) => wharf_store::build_cache::put(tx, e),
        None => Ok(()),
    })?;
    Ok(diff_id)
}

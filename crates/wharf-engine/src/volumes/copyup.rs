//! Docker's copy-up: a new, empty volume mounted over a directory of the
//! image starts as a copy of that directory (contents, owners, modes,
//! symlinks, times; the directory's own owner and mode go to the volume's
//! root). Done at create, as docker does, through a mount of the image's
//! layers at the container's rootfs that lasts only for the copy.

use std::path::PathBuf;

use wharf_runtime::rootfs;

use super::mounts::ImageRoot;
use crate::{EngineError, EngineResult};
use wharf_image::fscopy::{copy_tree, resolve_in_root, CopyOptions};

/// Unmounts on drop, so a failed copy leaves no mount behind.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(e) = rootfs::unmount(&self.0) {
            tracing::warn!(error = %e, "unmounting the image root after copy-up");
        }
    }
}

/// Fill each `(destination, volume data dir)` from the image.
pub(crate) fn copy_up(image: &ImageRoot, fill: &[(String, PathBuf)]) -> EngineResult<()> {
    for d in [&image.upper, &image.work, &image.rootfs, &image.empty] {
        std::fs::create_dir_all(d)
            .map_err(|e| EngineError::io(format!("creating {}", d.display()), e))?;
    }
    rootfs::mount_overlay(
        image.lowers,
        &image.upper,
        &image.work,
        &image.rootfs,
        &image.empty,
    )
    .map_err(|e| EngineError::Invalid(e.to_string()))?;
    let root = Mounted(image.rootfs.clone());
    for (destination, data) in fill {
        let src = resolve_in_root(&root.0, destination)?;
        match std::fs::symlink_metadata(&src) {
            Ok(m) if m.is_dir() => {
                tracing::debug!(%destination, volume = %data.display(), "copy-up");
                copy_tree(&src, data, &CopyOptions::default())?;
            }
            // Nothing there (the runtime makes the mount point), or a file
            // (the mount will fail, as in docker): nothing to copy.
            _ => {}
        }
    }
    Ok(())
}

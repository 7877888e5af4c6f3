//! Garbage collection: layers and blobs nothing references any more.
//!
//! Callers delete rows (images, tags) and call [`Store::drop_unreferenced`]
//! in the same transaction, then [`Store::discard`] the returned objects
//! while still holding the GC lock, so no concurrent commit can adopt a
//! tree that is about to vanish.

use std::collections::HashSet;
use std::fs;

use nix::fcntl::{Flock, FlockArg};
use rusqlite::Transaction;
use wharf_oci::Digest;

use crate::paths::remove_any;
use crate::{distribution, images, layers, LayerRecord, Store, StoreResult};

/// Objects whose rows are gone and whose files are to be deleted.
#[derive(Debug, Default)]
pub struct Garbage {
    pub layers: Vec<LayerRecord>,
    pub blobs: Vec<Digest>,
}

impl Garbage {
    /// Bytes the unpacked layer trees took (what docker reports as reclaimed).
    pub fn layer_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.size).sum()
    }
}

impl Store {
    /// Delete the rows of layers no image references; return them with the
    /// given extra blobs (configs of deleted images) as garbage.
    pub fn drop_unreferenced(
        &self,
        tx: &Transaction,
        mut blobs: Vec<Digest>,
    ) -> StoreResult<Garbage> {
        let dead = layers::unreferenced(tx)?;
        for l in &dead {
            layers::delete(tx, &l.diff_id)?;
            blobs.push(l.blob.clone());
        }
        blobs.extend(distribution::drop_dangling(tx)?);
        Ok(Garbage {
            layers: dead,
            blobs,
        })
    }

    /// Delete the files of garbage returned by `drop_unreferenced`.
    pub fn discard(&self, garbage: &Garbage) {
        for l in &garbage.layers {
            if let Some(dir) = self.layer_dir(&l.diff_id).parent() {
                self.discard_tree(dir);
            }
        }
        for b in &garbage.blobs {
            remove_any(&self.blob_path(b));
        }
    }

    /// Drop partial downloads kept in `ingest/` for resuming, except those
    /// a pull is writing right now (it holds their flock).
    fn sweep_ingest(&self) {
        let Ok(entries) = fs::read_dir(self.root().join("ingest")) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(f) = fs::OpenOptions::new().write(true).open(e.path()) else {
                continue;
            };
            if Flock::lock(f, FlockArg::LockExclusiveNonblock).is_ok() {
                tracing::debug!(path = %e.path().display(), "removing a partial download");
                remove_any(&e.path());
            }
        }
    }

    /// Remove layer trees and blobs that have no row (left by a process
    /// killed between moving them into place and recording them), partial
    /// downloads, and what dead processes left in `tmp/`. Takes the GC lock.
    pub fn sweep_orphans(&self) -> StoreResult<()> {
        let _lock = self.gc_lock()?;
        self.sweep();
        let (known_layers, known_blobs) = self.read(|tx| {
            let ls = layers::all(tx)?;
            let mut blobs: HashSet<String> = ls.iter().map(|l| l.blob.hex().to_string()).collect();
            for img in images::list(tx)? {
                blobs.insert(img.id.hex().to_string());
            }
            blobs.extend(distribution::stored_blobs(tx)?);
            Ok((
                ls.iter()
                    .map(|l| l.diff_id.hex().to_string())
                    .collect::<HashSet<_>>(),
                blobs,
            ))
        })?;
        self.sweep_ingest();
        for (dir, known) in [("layers", &known_layers), ("blobs/sha256", &known_blobs)] {
            let Ok(entries) = fs::read_dir(self.root().join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                if !known.contains(e.file_name().to_string_lossy().as_ref()) {
                    tracing::debug!(path = %e.path().display(), "removing unreferenced");
                    self.discard_tree(&e.path());
                }
            }
        }
        Ok(())
    }
}

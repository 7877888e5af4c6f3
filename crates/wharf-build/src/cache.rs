//! Cache keys and lookups. A step's key is the sha256 of its parent's key,
//! the expanded instruction, the build args in scope and, for COPY/ADD, a
//! digest of what it copies; the first key of a stage is its base image ID
//! (or the key of the stage it starts from).

use sha2::{Digest as _, Sha256};
use wharf_oci::Digest;
use wharf_store::build_cache::{self, CacheEntry};
use wharf_store::Store;

use crate::BuildResult;

/// Chain `parts` onto `parent`.
pub fn key(parent: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(parent.as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A layer step's cache slot: what to record once it ran.
pub struct StepResult {
    pub key: String,
    pub created: String,
    /// `--no-cache` builds still record their results.
    pub record: bool,
    /// `SOURCE_DATE_EPOCH`: the layer's file times are clamped to it.
    pub epoch: Option<i64>,
}

impl StepResult {
    pub fn entry(&self, diff_id: Option<Digest>) -> Option<CacheEntry> {
        self.record.then(|| CacheEntry {
            key: self.key.clone(),
            diff_id,
            created: self.created.clone(),
        })
    }
}

/// A usable cached result for `key`: its layer must still be stored.
pub fn lookup(store: &Store, key: &str) -> BuildResult<Option<CacheEntry>> {
    Ok(store.read(|tx| {
        let Some(e) = build_cache::get(tx, key)? else {
            return Ok(None);
        };
        if let Some(d) = &e.diff_id {
            if wharf_store::layers::get(tx, d)?.is_none() || !store.layer_dir(d).exists() {
                return Ok(None);
            }
        }
        Ok(Some(e))
    })?)
}

pub fn touch(store: &Store, key: &str) {
    if let Err(e) = store.write(|tx| build_cache::touch(tx, key)) {
        tracing::debug!(error = %e, "refreshing a build cache entry");
    }
}

/// `builder prune`: drop every entry and the layers only they kept;
/// returns the number of entries and the bytes of the layers freed.
pub fn prune(store: &Store) -> BuildResult<(usize, u64)> {
    let _gc = store.gc_lock()?;
    let (n, garbage) = store.write(|tx| {
        let (n, _) = build_cache::clear(tx)?;
        let garbage = store.drop_unreferenced(tx, Vec::new())?;
        Ok((n, garbage))
    })?;
    store.discard(&garbage);
    Ok((n, garbage.layers.iter().map(|l| l.size).sum()))
}

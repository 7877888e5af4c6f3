//! Make a new image visible in the store, all at once.

use wharf_oci::{Digest, ImageConfig, Reference};
use wharf_store::rusqlite::Transaction;
use wharf_store::{images, layers, ImageRecord, Store, StoreResult};

use crate::ingest::IngestedLayer;
use crate::{ImageError, ImageResult};

/// What committing an image changed.
#[derive(Debug, Clone)]
pub struct Committed {
    pub id: Digest,
    /// Tags that moved here from another image: (tag, previous image).
    pub moved_tags: Vec<(Reference, Digest)>,
}

/// Move freshly ingested layers into place and record an image with the
/// given config and tags, in one transaction under the commit lock. Every
/// diff ID of the config must be among `new_layers` or already stored.
pub fn commit_image(
    store: &Store,
    new_layers: Vec<IngestedLayer>,
    config: &[u8],
    tags: &[Reference],
    parent: Option<&Digest>,
) -> ImageResult<Committed> {
    commit_image_with(store, new_layers, config, tags, parent, |_, _| Ok(()))
}

/// [`commit_image`], running `also(tx, image_id)` in the same transaction
/// (a pull records repo digests and manifests there, so they appear with
/// the image or not at all).
pub fn commit_image_with(
    store: &Store,
    new_layers: Vec<IngestedLayer>,
    config: &[u8],
    tags: &[Reference],
    parent: Option<&Digest>,
    also: impl FnOnce(&Transaction, &Digest) -> StoreResult<()>,
) -> ImageResult<Committed> {
    let parsed = ImageConfig::from_slice(config)
        .map_err(|e| ImageError::invalid(format!("invalid image config: {e}")))?;
    let diff_ids = parsed.diff_ids().to_vec();
    let _lock = store.commit_lock()?;
    let records = new_layers
        .into_iter()
        .map(|l| l.commit_into(store))
        .collect::<ImageResult<Vec<_>>>()?;
    let id = store.put_blob(config)?;
    // Layers and config in place, no row yet (pull, load, import, commit, build).
    wharf_failpoint::hit("image-commit-before-tx");
    let moved_tags = store.write(|tx| {
        for r in &records {
            layers::put(tx, r)?;
        }
        let mut size = 0;
        for d in &diff_ids {
            let l = layers::get(tx, d)?.ok_or_else(|| {
                wharf_store::StoreError::NotFound(format!(
                    "layer {d} of image {id} is not in the store"
                ))
            })?;
            size += l.size;
        }
        let now = wharf_oci::config::format_time(chrono::Utc::now());
        images::insert(
            tx,
            &ImageRecord {
                id: id.clone(),
                size,
                created: parsed.created.clone(),
                added_at: now,
                last_tag_time: None,
                parent: parent.cloned(),
                layers: diff_ids.clone(),
            },
        )?;
        also(tx, &id)?;
        let mut moved = Vec::new();
        for t in tags {
            if let Some(prev) = images::set_tag(tx, &t.to_string(), &id)? {
                moved.push((t.clone(), prev));
            }
        }
        Ok(moved)
    })?;
    wharf_failpoint::hit("image-commit-after-tx");
    Ok(Committed { id, moved_tags })
}

/// Move one freshly ingested layer into place and record it, together with
/// whatever `also` writes in the same transaction (the builder's cache
/// entry), under the commit lock.
pub fn commit_layer(
    store: &Store,
    layer: IngestedLayer,
    also: impl FnOnce(&wharf_store::rusqlite::Transaction) -> wharf_store::StoreResult<()>,
) -> ImageResult<wharf_store::LayerRecord> {
    let _lock = store.commit_lock()?;
    let record = layer.commit_into(store)?;
    // A build step's layer tree in place, its row and cache entry not yet.
    wharf_failpoint::hit("layer-adopt-before-tx");
    store.write(|tx| {
        layers::put(tx, &record)?;
        also(tx)
    })?;
    Ok(record)
}

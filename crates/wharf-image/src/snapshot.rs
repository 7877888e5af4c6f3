//! `docker commit`: a container's changes (its overlay upper dir) become a
//! new layer on top of its image.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

use chrono::Utc;
use wharf_oci::config::format_time;
use wharf_oci::{ContainerConfig, Digest, History, ImageConfig, Reference};
use wharf_store::Store;

use crate::changes::apply_changes;
use crate::commit::{commit_image, Committed};
use crate::ingest::{ingest_layer, IngestedLayer};
use crate::layer::{write_layer, DiffOptions};
use crate::{ImageError, ImageResult};

#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    pub changes: Vec<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    pub tag: Option<Reference>,
    /// The container's ID, recorded in the config as docker does.
    pub container_id: String,
    /// What history's CREATED BY says (the container's command).
    pub created_by: String,
}

/// Turn an overlay upper dir (a container's or a build step's changes)
/// into an ingested layer, ready to commit.
pub fn layer_from_dir(store: &Store, upper: &Path) -> ImageResult<IngestedLayer> {
    let temp = store.temp_path("commit");
    let written = (|| {
        let f = File::create(&temp)
            .map_err(|e| ImageError::io(format!("creating {}", temp.display()), e))?;
        let w = write_layer(upper, BufWriter::new(f), &DiffOptions { whiteouts: true })?;
        w.into_inner()
            .map_err(|e| ImageError::io("writing layer", e.into_error()))?;
        let f = File::open(&temp)
            .map_err(|e| ImageError::io(format!("opening {}", temp.display()), e))?;
        ingest_layer(store, f, None)
    })();
    let _ = fs::remove_file(&temp);
    written
}

pub fn snapshot(
    store: &Store,
    upper: &Path,
    parent: &Digest,
    container_config: ContainerConfig,
    opts: &SnapshotOptions,
) -> ImageResult<Committed> {
    let mut config = container_config;
    apply_changes(&mut config, &opts.changes)?;
    let layer = layer_from_dir(store, upper)?;

    let mut image = ImageConfig::from_slice(&store.read_blob(parent)?)
        .map_err(|e| ImageError::invalid(format!("image {parent} has an invalid config: {e}")))?;
    let created = format_time(Utc::now());
    image.created = Some(created.clone());
    image.container = opts.container_id.clone();
    image.container_config = Some(config.clone());
    image.config = Some(config);
    image.author = opts.author.clone().unwrap_or_default();
    image.comment = opts.message.clone().unwrap_or_default();
    image.parent = parent.to_string();
    let rootfs = image
        .rootfs
        .get_or_insert_with(|| wharf_oci::RootFs::layers(Vec::new()));
    rootfs.diff_ids.push(layer.diff_id().clone());
    image.history.push(History {
        created: Some(created),
        author: opts.author.clone(),
        created_by: Some(opts.created_by.clone()),
        comment: opts.message.clone(),
        empty_layer: false,
    });
    let tags: Vec<Reference> = opts.tag.iter().cloned().collect();
    commit_image(store, vec![layer], &image.to_bytes(), &tags, Some(parent))
}

//! `docker import`: a root filesystem tar becomes a one-layer image.

use std::io::Read;

use chrono::Utc;
use wharf_oci::config::format_time;
use wharf_oci::{platform, ContainerConfig, History, ImageConfig, Reference, RootFs};
use wharf_store::Store;

use crate::changes::apply_changes;
use crate::commit::{commit_image, Committed};
use crate::ingest::ingest_layer;
use crate::ImageResult;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Dockerfile instructions applied to the config (`--change`).
    pub changes: Vec<String>,
    /// History comment (`--message`); docker's default is "Imported from <source>".
    pub message: Option<String>,
    /// What docker calls the source: `-` for a stream, else the URL.
    pub source: String,
    pub tag: Option<Reference>,
    /// `--platform`'s architecture and variant (GOARCH names); this
    /// machine's when `None`.
    pub platform: Option<(String, String)>,
}

pub fn import_rootfs<R: Read>(
    store: &Store,
    src: R,
    opts: &ImportOptions,
) -> ImageResult<Committed> {
    // Validate the changes before the (long) unpack, so bad input costs nothing.
    let mut config = ContainerConfig::default();
    apply_changes(&mut config, &opts.changes)?;

    let layer = ingest_layer(store, src, None)?;
    let created = format_time(Utc::now());
    let comment = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("Imported from {}", opts.source));
    let image = ImageConfig {
        comment: comment.clone(),
        created: Some(created.clone()),
        container_config: Some(ContainerConfig::default()),
        config: Some(config),
        architecture: opts
            .platform
            .as_ref()
            .map_or_else(|| platform::go_arch().to_string(), |p| p.0.clone()),
        variant: opts
            .platform
            .as_ref()
            .map(|p| p.1.clone())
            .unwrap_or_default(),
        os: platform::OS.to_string(),
        rootfs: Some(RootFs::layers(vec![layer.diff_id().clone()])),
        history: vec![History {
            created: Some(created),
            comment: Some(comment),
            ..Default::default()
        }],
        ..Default::default()
    };
    let tags: Vec<Reference> = opts.tag.iter().cloned().collect();
    commit_image(store, vec![layer], &image.to_bytes(), &tags, None)
}

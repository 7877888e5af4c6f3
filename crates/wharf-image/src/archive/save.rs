//! `docker save`: images (with the tags asked for) into one tar.

use std::collections::HashSet;
use std::io::Write;

use serde_json::json;
use wharf_oci::{media_types, Digest, Reference};
use wharf_store::Store;

use super::tar_out::TarOut;
use crate::manifest::{load_stored, oci_manifest, StoredImage};
use crate::{ImageError, ImageResult};

/// One image to save and the tags to record for it (empty when it was
/// named by ID: docker then saves it untagged).
pub struct SaveItem {
    pub id: Digest,
    pub tags: Vec<Reference>,
}

/// Write the archive to `out`. Metadata comes first so a streaming reader
/// (our `load`) knows what every blob is before it arrives.
pub fn save<W: Write>(store: &Store, items: &[SaveItem], out: W) -> ImageResult<W> {
    let mut images = Vec::new();
    for item in items {
        images.push((load_stored(store, &item.id)?, item.tags.clone()));
    }
    write_archive(store, &images, out)
}

/// Write images that need not be in the store's image table (a build's
/// `--output type=docker|oci`: config and layers, no tag) with `tags`
/// recorded for each.
pub fn write_archive<W: Write>(
    store: &Store,
    images: &[(StoredImage, Vec<Reference>)],
    out: W,
) -> ImageResult<W> {
    let io_err = |e| ImageError::io("writing archive", e);
    let mut images_out = Vec::new();
    for (img, tags) in images {
        let (manifest, manifest_digest) = oci_manifest(img)?;
        images_out.push((tags, img, manifest, manifest_digest));
    }
    let images = images_out;

    let mut index_entries = Vec::new();
    let mut docker_manifest = Vec::new();
    for (item, img, manifest, digest) in &images {
        index_entries.extend(tagged(
            media_types::OCI_MANIFEST,
            digest,
            manifest.len(),
            item,
        ));
        docker_manifest.push(json!({
            "Config": format!("blobs/sha256/{}", img.id.hex()),
            "RepoTags": item.iter().map(|t| t.familiar()).collect::<Vec<_>>(),
            "Layers": img.layers.iter().map(|l| format!("blobs/sha256/{}", l.blob.hex())).collect::<Vec<_>>(),
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_INDEX,
        "manifests": index_entries,
    });

    let mut tar = TarOut::new(out);
    layout_head(&mut tar, &index)?;
    tar.bytes(
        "manifest.json",
        serde_json::Value::Array(docker_manifest)
            .to_string()
            .as_bytes(),
    )
    .map_err(io_err)?;
    let manifests: Vec<_> = images
        .iter()
        .map(|(_, img, manifest, digest)| (*img, manifest, digest))
        .collect();
    write_blobs(&mut tar, store, &manifests, &[])?;
    tar.finish().map_err(io_err)
}

/// An OCI image layout tar of a multi-platform result, as BuildKit's oci
/// exporter writes it: `index.json` names one image index (with the tags'
/// annotations) whose manifests carry each image's platform. There is no
/// `manifest.json`: docker's archive format cannot hold an index.
pub fn write_oci_index<W: Write>(
    store: &Store,
    images: &[StoredImage],
    tags: &[Reference],
    out: W,
) -> ImageResult<W> {
    let io_err = |e| ImageError::io("writing archive", e);
    let mut manifests = Vec::new();
    let mut entries = Vec::new();
    for img in images {
        let (manifest, digest) = oci_manifest(img)?;
        let config: serde_json::Value = serde_json::from_slice(&img.config)
            .map_err(|e| ImageError::invalid(format!("invalid image config: {e}")))?;
        let mut platform = json!({
            "architecture": config["architecture"],
            "os": config["os"],
        });
        if let Some(v) = config["variant"].as_str().filter(|v| !v.is_empty()) {
            platform["variant"] = v.into();
        }
        entries.push(json!({
            "mediaType": media_types::OCI_MANIFEST,
            "digest": digest.to_string(),
            "size": manifest.len(),
            "platform": platform,
        }));
        manifests.push((img, manifest, digest));
    }
    let nested = json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_INDEX,
        "manifests": entries,
    })
    .to_string()
    .into_bytes();
    let nested_digest = Digest::of(&nested);
    let top = tagged(media_types::OCI_INDEX, &nested_digest, nested.len(), tags);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_types::OCI_INDEX,
        "manifests": top,
    });
    let mut tar = TarOut::new(out);
    layout_head(&mut tar, &index)?;
    let refs: Vec<_> = manifests.iter().map(|(i, m, d)| (*i, m, d)).collect();
    write_blobs(&mut tar, store, &refs, &[(&nested_digest, &nested)])?;
    tar.finish().map_err(io_err)
}

/// `index.json`'s descriptors of one document: one per tag (containerd's
/// and OCI's name annotations), or one without a name.
fn tagged(
    media_type: &str,
    digest: &Digest,
    size: usize,
    tags: &[Reference],
) -> Vec<serde_json::Value> {
    let descriptor = |annotations: Option<serde_json::Value>| {
        let mut d = json!({
            "mediaType": media_type,
            "digest": digest.to_string(),
            "size": size,
        });
        if let Some(a) = annotations {
            d["annotations"] = a;
        }
        d
    };
    if tags.is_empty() {
        return vec![descriptor(None)];
    }
    tags.iter()
        .map(|t| {
            descriptor(Some(json!({
                "io.containerd.image.name": t.to_string(),
                "org.opencontainers.image.ref.name": t.tag().unwrap_or("latest"),
            })))
        })
        .collect()
}

/// `oci-layout` and `index.json`, first in every archive.
fn layout_head<W: Write>(tar: &mut TarOut<W>, index: &serde_json::Value) -> ImageResult<()> {
    let io_err = |e| ImageError::io("writing archive", e);
    tar.bytes(
        "oci-layout",
        json!({"imageLayoutVersion": media_types::OCI_LAYOUT_VERSION})
            .to_string()
            .as_bytes(),
    )
    .map_err(io_err)?;
    tar.bytes("index.json", index.to_string().as_bytes())
        .map_err(io_err)
}

/// `blobs/sha256/`: the `extra` documents, each image's manifest and
/// config, then every layer blob once.
fn write_blobs<W: Write>(
    tar: &mut TarOut<W>,
    store: &Store,
    images: &[(&StoredImage, &Vec<u8>, &Digest)],
    extra: &[(&Digest, &Vec<u8>)],
) -> ImageResult<()> {
    let io_err = |e| ImageError::io("writing archive", e);
    tar.dir("blobs/").map_err(io_err)?;
    tar.dir("blobs/sha256/").map_err(io_err)?;
    let mut written = HashSet::new();
    let docs = extra.iter().copied().chain(
        images
            .iter()
            .flat_map(|(img, manifest, digest)| [(*digest, *manifest), (&img.id, &img.config)]),
    );
    for (d, bytes) in docs {
        if written.insert(d.clone()) {
            tar.bytes(&format!("blobs/sha256/{}", d.hex()), bytes)
                .map_err(io_err)?;
        }
    }
    for (img, _, _) in images {
        for l in &img.layers {
            if written.insert(l.blob.clone()) {
                let mut f = store.open_blob(&l.blob)?;
                tar.file(
                    &format!("blobs/sha256/{}", l.blob.hex()),
                    &mut f,
                    l.blob_size,
                )
                .map_err(io_err)?;
            }
        }
    }
    Ok(())
}

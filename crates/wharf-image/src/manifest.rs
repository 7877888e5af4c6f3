//! OCI manifests for stored images (save writes them; push will too).

use std::str::FromStr;

use oci_spec::image::{Descriptor, ImageManifest, ImageManifestBuilder, MediaType};
use wharf_oci::{media_types, Digest};
use wharf_store::{images, layers, LayerRecord, Store};

use crate::{ImageError, ImageResult};

/// An image as stored, with what is needed to write it out.
pub struct StoredImage {
    pub id: Digest,
    pub config: Vec<u8>,
    /// The image's layers, bottom first.
    pub layers: Vec<LayerRecord>,
    /// Fully qualified tags.
    pub tags: Vec<String>,
}

pub fn load_stored(store: &Store, id: &Digest) -> ImageResult<StoredImage> {
    let config = store.read_blob(id)?;
    let (layers, tags) = store.read(|tx| {
        let img = images::get(tx, id)?
            .ok_or_else(|| wharf_store::StoreError::NotFound(format!("No such image: {id}")))?;
        let layers = img
            .layers
            .iter()
            .map(|d| {
                layers::get(tx, d)?.ok_or_else(|| {
                    wharf_store::StoreError::NotFound(format!("layer {d} of image {id} is missing"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((layers, images::tags_of(tx, id)?))
    })?;
    Ok(StoredImage {
        id: id.clone(),
        config,
        layers,
        tags,
    })
}

/// An image made of a config and stored layers, not (necessarily) in the
/// image table: what a build exports without loading it.
pub fn unstored_image(store: &Store, config: Vec<u8>) -> ImageResult<StoredImage> {
    let parsed = wharf_oci::ImageConfig::from_slice(&config)
        .map_err(|e| ImageError::invalid(format!("invalid image config: {e}")))?;
    let layers = store.read(|tx| {
        parsed
            .diff_ids()
            .iter()
            .map(|d| {
                layers::get(tx, d)?.ok_or_else(|| {
                    wharf_store::StoreError::NotFound(format!("layer {d} is not in the store"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(StoredImage {
        id: Digest::of(&config),
        config,
        layers,
        tags: Vec::new(),
    })
}

pub fn oci_digest(d: &Digest) -> oci_spec::image::Digest {
    oci_spec::image::Digest::from_str(&d.to_string()).expect("a wharf digest is a valid OCI digest")
}

pub fn descriptor(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
    Descriptor::new(MediaType::from(media_type), size, oci_digest(digest))
}

/// The OCI manifest of a stored image, as bytes and digest.
pub fn oci_manifest(img: &StoredImage) -> ImageResult<(Vec<u8>, Digest)> {
    let layers = img
        .layers
        .iter()
        .map(|l| descriptor(l.compression.oci_layer_media_type(), &l.blob, l.blob_size))
        .collect::<Vec<_>>();
    let manifest: ImageManifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(
            media_types::OCI_CONFIG,
            &img.id,
            img.config.len() as u64,
        ))
        .layers(layers)
        .build()
        .map_err(|e| ImageError::invalid(format!("building manifest: {e}")))?;
    let bytes = serde_json::to_vec(&manifest)
        .map_err(|e| ImageError::invalid(format!("encoding manifest: {e}")))?;
    let digest = Digest::of(&bytes);
    Ok((bytes, digest))
}

//! `docker pull`: manifest (and platform) → config → layers, downloaded in
//! parallel and unpacked as they arrive, every digest verified, then the
//! image committed in one transaction with its tag, repo digest and
//! manifests. Layers already in the store are not downloaded; a download
//! cut short stays in `ingest/` and the next pull resumes it.

use wharf_image::commit::commit_image_with;
use wharf_oci::media_types::Compression;
use wharf_oci::{Digest, ImageConfig, Reference};
use wharf_store::distribution::{self, LayerBlob};
use wharf_store::{images, layers, Store};

use crate::blobs::fetch_small;
use crate::manifest::{select_platform, Descriptor, Manifest, Platform};
use crate::progress::{layer, Event, LayerStatus, Progress};
use crate::session::Session;
use crate::{RegistryError, RegistryResult};

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `--platform`; this machine's when unset.
    pub platform: Option<Platform>,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub image_id: Digest,
    /// The digest of what the reference resolved to (the index for a
    /// multi-platform image): docker's `Digest:` line and RepoDigest.
    pub digest: Digest,
    /// The tag now points here and did not before (docker's "Downloaded
    /// newer image" vs "Image is up to date").
    pub updated: bool,
}

pub(crate) fn short(d: &Digest) -> String {
    d.short().to_string()
}

/// Pull `reference` (tag or digest) into `store`. Errors name the image.
pub fn pull(
    session: &Session,
    store: &Store,
    reference: &Reference,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> RegistryResult<Pulled> {
    let shown = reference.familiar();
    pull_one(session, store, reference, opts, progress)
        .map_err(|e| e.naming(&shown, &format!("pulling {shown}")))
}

/// What a reference asks the registry's manifests endpoint for: its
/// digest, else its tag (`latest` when it has neither).
pub(crate) fn manifest_ref(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => "latest".to_string(),
    }
}

fn pull_one(
    session: &Session,
    store: &Store,
    reference: &Reference,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> RegistryResult<Pulled> {
    let path = reference.path();
    let shown = reference.familiar();
    let tag_or_digest = manifest_ref(reference);
    let top = session.manifest(path, &tag_or_digest, &shown)?;
    progress.event(Event::PullingFrom {
        tag: tag_or_digest,
        path: path.to_string(),
    });
    let want = opts.platform.clone().unwrap_or_else(Platform::host);
    let mut manifests = vec![(
        top.digest.clone(),
        top.media_type.clone(),
        top.bytes.clone(),
    )];
    let image = match &top.manifest {
        Manifest::Index { manifests: list } => {
            let entry = select_platform(list, &want).ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "no matching manifest for {want} in the manifest list entries of {shown}"
                ))
            })?;
            let m = session.manifest(path, &entry.digest.to_string(), &shown)?;
            manifests.push((m.digest.clone(), m.media_type.clone(), m.bytes.clone()));
            m.manifest
        }
        m => m.clone(),
    };
    let Manifest::Image {
        config: config_desc,
        layers: layer_descs,
    } = image
    else {
        return Err(RegistryError::Protocol(format!(
            "{shown}: an index inside an index is not supported"
        )));
    };

    let image_id = config_desc.digest.clone();
    let config_bytes = match store.has_blob(&image_id) {
        true => store.read_blob(&image_id)?,
        false => session.block_on(fetch_small(&session.client, path, &image_id))?,
    };
    let config = ImageConfig::from_slice(&config_bytes)
        .map_err(|e| RegistryError::Protocol(format!("invalid image config of {shown}: {e}")))?;
    let mismatch = |want: &str, got: &str| !got.is_empty() && want != got;
    if opts.platform.is_some()
        && (mismatch(&want.os, &config.os) || mismatch(&want.architecture, &config.architecture))
    {
        return Err(RegistryError::NotFound(format!(
            "image with reference {shown} was found but does not match the specified platform: wanted {want}, actual: {}/{}",
            config.os, config.architecture
        )));
    }
    let diff_ids = config.diff_ids().to_vec();
    let blob_layers: Vec<&Descriptor> = layer_descs
        .iter()
        .filter(|d| Compression::from_media_type(&d.media_type).is_some())
        .collect();
    if blob_layers.len() != diff_ids.len() || blob_layers.len() != layer_descs.len() {
        return Err(RegistryError::Protocol(format!(
            "invalid image {shown}: the manifest lists {} layers, the config {} (or a layer has an unsupported media type)",
            layer_descs.len(),
            diff_ids.len()
        )));
    }

    // Which layers are needed; one download per distinct blob.
    let (image_known, present): (bool, Vec<bool>) = store.read(|tx| {
        let layers = diff_ids
            .iter()
            .map(|d| Ok(layers::get(tx, d)?.is_some()))
            .collect::<wharf_store::StoreResult<Vec<bool>>>()?;
        Ok((images::get(tx, &image_id)?.is_some(), layers))
    })?;
    let mut todo: Vec<(Descriptor, Digest)> = Vec::new();
    for ((desc, diff_id), have) in layer_descs.iter().zip(&diff_ids).zip(&present) {
        // Docker says nothing about the layers of an image it already has.
        if *have && image_known {
            continue;
        }
        if *have {
            layer(progress, &short(&desc.digest), LayerStatus::AlreadyExists);
        } else if !todo.iter().any(|(d, _)| d.digest == desc.digest) {
            layer(progress, &short(&desc.digest), LayerStatus::Waiting);
            todo.push((desc.clone(), diff_id.clone()));
        }
    }
    let ingested = crate::pull_layers::fetch_layers(session, store, path, &todo, progress)?;

    let (tag_name, before) = match reference.tag() {
        Some(_) if reference.digest().is_none() => {
            let name = reference.to_string();
            let before = store.read(|tx| images::resolve_tag(tx, &name))?;
            (Some(name), before)
        }
        _ => (None, None),
    };
    let repo_digest = format!("{}@{}", reference.repository(), top.digest);
    let had_digest = store.read(|tx| images::resolve_repo_digest(tx, &repo_digest))?;
    let mut new_blobs = Vec::new();
    for (d, _, bytes) in &manifests {
        if !store.has_blob(d) {
            store.put_blob(bytes)?;
            new_blobs.push(d.clone());
        }
    }
    let tags: Vec<Reference> = tag_name
        .iter()
        .filter_map(|t| Reference::parse(t).ok())
        .collect();
    let repository = reference.repository();
    let stored: Vec<Digest> = todo.iter().map(|(d, _)| d.digest.clone()).collect();
    let committed = commit_image_with(store, ingested, &config_bytes, &tags, None, |tx, id| {
        images::add_repo_digest(tx, &repo_digest, id)?;
        for (d, media_type, _) in &manifests {
            distribution::add_manifest(tx, d, id, media_type)?;
        }
        for (desc, diff_id) in layer_descs.iter().zip(&diff_ids) {
            distribution::add_layer_blob(
                tx,
                &LayerBlob {
                    diff_id: diff_id.clone(),
                    blob: desc.digest.clone(),
                    media_type: desc.media_type.clone(),
                    size: desc.size,
                    stored: stored.contains(&desc.digest),
                },
            )?;
            distribution::add_blob_source(tx, &desc.digest, &repository)?;
        }
        distribution::add_blob_source(tx, id, &repository)?;
        Ok(())
    });
    let committed = match committed {
        Ok(c) => c,
        Err(e) => {
            for d in new_blobs {
                let _ = std::fs::remove_file(store.blob_path(&d));
            }
            return Err(e.into());
        }
    };
    let updated = match &tag_name {
        Some(_) => before.as_ref() != Some(&committed.id),
        None => had_digest.as_ref() != Some(&committed.id),
    };
    Ok(Pulled {
        image_id: committed.id,
        digest: top.digest,
        updated,
    })
}

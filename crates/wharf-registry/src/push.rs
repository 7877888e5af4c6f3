//! `docker push`: layers (skipped when the registry has them, mounted from
//! another repository of the same registry when wharf knows one, uploaded
//! otherwise), then the config, then the manifest under the tag.
//!
//! Layers wharf keeps uncompressed (import, load, commit, build) are
//! compressed to gzip on every core while they upload — docker 20.10 pulls
//! gzip but not zstd — and the result is kept as a blob of the layer, so
//! the next push of it costs a HEAD request. A pulled image keeps its
//! manifest, so pushing it elsewhere keeps its digest, as with docker.

use bytes::Bytes;
use wharf_image::manifest::{load_stored, StoredImage};
use wharf_oci::media_types::{self as mt, Compression};
use wharf_oci::{Digest, Reference};
use wharf_store::distribution;
use wharf_store::{images, LayerRecord, Store};

use crate::manifest::{docker_manifest, Descriptor, Manifest};
use crate::progress::{layer, LayerStatus, Progress};
use crate::retry::{backoff, ATTEMPTS};
use crate::session::Session;
use crate::upload;
use crate::{RegistryError, RegistryResult};

/// What a push did: docker's `<tag>: digest: sha256:... size: N` line.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub tag: String,
    pub digest: Digest,
    pub size: usize,
}

/// Push image `image_id` as `reference` (which carries the tag). Errors
/// name the image.
pub fn push(
    session: &Session,
    store: &Store,
    reference: &Reference,
    image_id: &Digest,
    progress: &dyn Progress,
) -> RegistryResult<Pushed> {
    let shown = reference.familiar();
    push_one(session, store, reference, image_id, progress)
        .map_err(|e| e.naming(&shown, &format!("pushing {shown}")))
}

fn push_one(
    session: &Session,
    store: &Store,
    reference: &Reference,
    image_id: &Digest,
    progress: &dyn Progress,
) -> RegistryResult<Pushed> {
    let tag = reference.tag().unwrap_or("latest").to_string();
    let path = reference.path();
    let img = load_stored(store, image_id)?;
    // Unreachable registries fail here, before any per-layer retries.
    session.block_on(session.client.ping())?;
    let reused = reusable_manifest(store, &img)?;
    for l in img.layers.iter().rev() {
        layer(progress, l.diff_id.short(), LayerStatus::Preparing);
    }
    let wanted: Vec<Option<Descriptor>> = match &reused {
        Some((_, _, descs)) => descs.iter().cloned().map(Some).collect(),
        None => vec![None; img.layers.len()],
    };
    let descs = push_layers(session, store, path, &img.layers, &wanted, progress)?;

    let config_media = match &reused {
        Some((_, mtype, _)) if mtype == mt::OCI_MANIFEST => mt::OCI_CONFIG,
        _ => mt::DOCKER_CONFIG,
    };
    session.block_on(async {
        if !upload::exists(&session.client, path, image_id).await? {
            upload::put_bytes(
                &session.client,
                path,
                image_id,
                Bytes::from(img.config.clone()),
            )
            .await?;
        }
        Ok::<_, RegistryError>(())
    })?;
    let (bytes, media_type) = match reused {
        Some((bytes, mtype, _)) => (bytes, mtype),
        None => {
            let config = Descriptor {
                media_type: config_media.into(),
                digest: image_id.clone(),
                size: img.config.len() as u64,
                platform: None,
                urls: vec![],
            };
            (
                docker_manifest(&config, &descs),
                mt::DOCKER_MANIFEST.to_string(),
            )
        }
    };
    let digest = Digest::of(&bytes);
    session.block_on(upload::put_manifest(
        &session.client,
        path,
        &tag,
        &media_type,
        Bytes::from(bytes.clone()),
    ))?;

    store.put_blob(&bytes)?;
    let repository = reference.repository();
    store.write(|tx| {
        distribution::add_manifest(tx, &digest, image_id, &media_type)?;
        images::add_repo_digest(tx, &format!("{repository}@{digest}"), image_id)?;
        distribution::add_blob_source(tx, image_id, &repository)?;
        for d in &descs {
            distribution::add_blob_source(tx, &d.digest, &repository)?;
        }
        Ok(())
    })?;
    Ok(Pushed {
        tag,
        digest,
        size: bytes.len(),
    })
}

/// A stored manifest: its bytes, media type and layer descriptors.
type StoredManifest = (Vec<u8>, String, Vec<Descriptor>);

/// A stored manifest of this image whose layer blobs wharf still has.
fn reusable_manifest(store: &Store, img: &StoredImage) -> RegistryResult<Option<StoredManifest>> {
    let known = store.read(|tx| distribution::manifests_of(tx, &img.id))?;
    for (digest, media_type) in known {
        if media_type != mt::DOCKER_MANIFEST && media_type != mt::OCI_MANIFEST {
            continue;
        }
        let Ok(bytes) = store.read_blob(&digest) else {
            continue;
        };
        let Ok((Manifest::Image { config, layers }, _)) = Manifest::parse(&media_type, &bytes)
        else {
            continue;
        };
        if config.digest == img.id
            && layers.len() == img.layers.len()
            && layers.iter().all(|l| store.has_blob(&l.digest))
        {
            return Ok(Some((bytes, media_type, layers)));
        }
    }
    Ok(None)
}

fn push_layers(
    session: &Session,
    store: &Store,
    path: &str,
    layers: &[LayerRecord],
    wanted: &[Option<Descriptor>],
    progress: &dyn Progress,
) -> RegistryResult<Vec<Descriptor>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<RegistryResult<Descriptor>>>> =
        Mutex::new((0..layers.len()).map(|_| None).collect());
    let workers = session.opts.max_concurrent.clamp(1, layers.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= layers.len() || failed.load(Ordering::SeqCst) {
                    return;
                }
                let r = with_retries(progress, layers[i].diff_id.short(), || {
                    push_layer(
                        session,
                        store,
                        path,
                        &layers[i],
                        wanted[i].as_ref(),
                        progress,
                    )
                });
                if r.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                results.lock().expect("results")[i] = Some(r);
            });
        }
    });
    let mut out = Vec::new();
    let mut first_error = None;
    for r in results.into_inner().expect("results") {
        match r {
            Some(Ok(d)) => out.push(d),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn with_retries<T>(
    progress: &dyn Progress,
    id: &str,
    mut f: impl FnMut() -> RegistryResult<T>,
) -> RegistryResult<T> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if e.is_transient() && attempt + 1 < ATTEMPTS => {
                attempt += 1;
                let wait = backoff(attempt);
                tracing::debug!(error = %e, ?wait, "layer push failed; retrying");
                layer(
                    progress,
                    id,
                    LayerStatus::Retrying {
                        seconds: wait.as_secs().max(1),
                    },
                );
                std::thread::sleep(wait);
            }
            other => return other,
        }
    }
}

fn is_gzip(media_type: &str) -> bool {
    Compression::from_media_type(media_type) == Some(Compression::Gzip)
}

/// Push one layer; returns the descriptor the manifest lists for it.
fn push_layer(
    session: &Session,
    store: &Store,
    path: &str,
    l: &LayerRecord,
    wanted: Option<&Descriptor>,
    progress: &dyn Progress,
) -> RegistryResult<Descriptor> {
    let id = l.diff_id.short();
    let client = &session.client;
    let mut candidates: Vec<Descriptor> = match wanted {
        Some(d) => vec![d.clone()],
        None => {
            let mut c = Vec::new();
            if l.compression == Compression::Gzip {
                c.push(desc(mt::DOCKER_LAYER_GZIP, &l.blob, l.blob_size));
            }
            for b in store.read(|tx| distribution::layer_blobs(tx, &l.diff_id))? {
                if is_gzip(&b.media_type) && !c.iter().any(|d| d.digest == b.blob) {
                    c.push(desc(mt::DOCKER_LAYER_GZIP, &b.blob, b.size));
                }
            }
            c
        }
    };
    // Known copies first: on this repository, then mountable from another.
    for c in &candidates {
        if session.block_on(upload::exists(client, path, &c.digest))? {
            layer(progress, id, LayerStatus::Exists);
            return Ok(c.clone());
        }
    }
    let prefix = format!("{}/", session.host());
    for c in &candidates {
        let sources = store.read(|tx| distribution::blob_sources(tx, &c.digest))?;
        for from in sources.iter().filter_map(|s| s.strip_prefix(&prefix)) {
            if from != path && session.block_on(upload::mount(client, path, &c.digest, from))? {
                layer(
                    progress,
                    id,
                    LayerStatus::Mounted {
                        from: from.to_string(),
                    },
                );
                return Ok(c.clone());
            }
        }
    }
    candidates.retain(|c| store.has_blob(&c.digest));
    if let Some(c) = candidates.first() {
        session.block_on(upload::put_file(
            client,
            path,
            &c.digest,
            store.blob_path(&c.digest),
            c.size,
            progress,
            id,
        ))?;
        layer(progress, id, LayerStatus::Pushed);
        return Ok(c.clone());
    }
    let d = crate::push_gzip::compress_and_upload(session, store, path, l, progress)?;
    layer(progress, id, LayerStatus::Pushed);
    Ok(d)
}

pub(crate) fn desc(media_type: &str, digest: &Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: digest.clone(),
        size,
        platform: None,
        urls: vec![],
    }
}

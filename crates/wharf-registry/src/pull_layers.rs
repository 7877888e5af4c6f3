//! The layers of a pull: a few downloads at a time, each streamed into
//! the unpacker as it arrives, resumed from `ingest/` when an earlier pull
//! left part of it there.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use nix::fcntl::{Flock, FlockArg};
use wharf_image::ingest::{ingest_layer_into, BlobTarget, IngestedLayer};
use wharf_oci::Digest;
use wharf_store::Store;

use crate::blobs::{download, ErrorSlot};
use crate::manifest::Descriptor;
use crate::progress::{layer, LayerStatus, Progress};
use crate::pull::short;
use crate::session::Session;
use crate::{RegistryError, RegistryResult};

/// Download and unpack `todo` (blob, expected diff ID), a few at a time.
pub(crate) fn fetch_layers(
    session: &Session,
    store: &Store,
    path: &str,
    todo: &[(Descriptor, Digest)],
    progress: &dyn Progress,
) -> RegistryResult<Vec<IngestedLayer>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<HashMap<usize, RegistryResult<IngestedLayer>>> = Mutex::new(HashMap::new());
    let workers = session.opts.max_concurrent.clamp(1, todo.len().max(1));
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= todo.len() || failed.load(Ordering::SeqCst) {
                    return;
                }
                let (desc, diff_id) = &todo[i];
                let r = fetch_layer(session, store, path, desc, diff_id, progress);
                if r.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                results.lock().expect("results").insert(i, r);
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    let mut out = Vec::new();
    for i in 0..todo.len() {
        match results.remove(&i) {
            Some(r) => out.push(r?),
            None => continue, // not started because another layer failed
        }
    }
    if out.len() != todo.len() {
        // Only reachable through a failure, which `?` above returned.
        return Err(RegistryError::Protocol("layer download aborted".into()));
    }
    Ok(out)
}

/// One layer: lock its ingest file (another pull may be fetching it),
/// resume what is there, stream the rest from the registry into the
/// unpacker, and check the diff ID.
fn fetch_layer(
    session: &Session,
    store: &Store,
    path: &str,
    desc: &Descriptor,
    diff_id: &Digest,
    progress: &dyn Progress,
) -> RegistryResult<IngestedLayer> {
    let id = short(&desc.digest);
    let partial = store.ingest_path(&desc.digest);
    let (_lock, have) = lock_partial(&partial)?;
    let have = if have > desc.size { 0 } else { have };
    if have > 0 {
        tracing::debug!(blob = %desc.digest, have, "resuming download");
    }
    let slot: ErrorSlot = Arc::new(Mutex::new(None));
    let local = File::open(&partial)
        .map_err(|e| RegistryError::io(format!("opening {}", partial.display()), e))?
        .take(have);
    let result = if have == desc.size && have > 0 {
        ingest(store, local, desc, &partial, have)
    } else {
        let remote = download(
            session.handle(),
            session.client.clone(),
            path,
            &desc.digest,
            desc.size,
            have,
            progress,
            &id,
            slot.clone(),
        );
        ingest(store, local.chain(remote), desc, &partial, have)
    };
    let layer_result = match result {
        Ok(l) => l,
        Err(e) => {
            // Nothing arrived: no partial download to keep.
            if std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0) == 0 {
                let _ = std::fs::remove_file(&partial);
            }
            if let Some(net) = slot.lock().expect("error slot").take() {
                return Err(net);
            }
            return Err(match e {
                wharf_image::ImageError::Invalid(m) if m.contains("digest mismatch") => {
                    RegistryError::Protocol(format!(
                        "filesystem layer verification failed for digest {}",
                        desc.digest
                    ))
                }
                other => other.into(),
            });
        }
    };
    layer(progress, &id, LayerStatus::Verifying);
    layer(progress, &id, LayerStatus::DownloadComplete);
    if layer_result.diff_id() != diff_id {
        return Err(RegistryError::Protocol(format!(
            "layer {} has diff ID {}, the image config expects {diff_id}",
            desc.digest,
            layer_result.diff_id()
        )));
    }
    layer(progress, &id, LayerStatus::PullComplete);
    Ok(layer_result)
}

fn ingest<R: Read>(
    store: &Store,
    src: R,
    desc: &Descriptor,
    partial: &std::path::Path,
    have: u64,
) -> Result<IngestedLayer, wharf_image::ImageError> {
    ingest_layer_into(
        store,
        src,
        Some(&desc.digest),
        BlobTarget::Partial {
            path: partial.to_path_buf(),
            have,
        },
    )
}

/// Open and lock `ingest/<hex>`, returning the lock and the bytes already
/// there. A pull that held the lock before us may have moved the file
/// into `blobs/` meanwhile; then the lock is on the wrong file, so start
/// again with a fresh one.
fn lock_partial(partial: &std::path::Path) -> RegistryResult<(Flock<File>, u64)> {
    use std::os::unix::fs::MetadataExt;
    loop {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(partial)
            .map_err(|e| RegistryError::io(format!("creating {}", partial.display()), e))?;
        let lock = Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| RegistryError::io("locking a download", e.into()))?;
        let locked = lock
            .metadata()
            .map_err(|e| RegistryError::io(format!("reading {}", partial.display()), e))?;
        match std::fs::metadata(partial) {
            Ok(now) if now.ino() == locked.ino() && now.dev() == locked.dev() => {
                return Ok((lock, now.len()))
            }
            _ => continue,
        }
    }
}

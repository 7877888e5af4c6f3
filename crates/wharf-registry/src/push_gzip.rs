//! Pushing a layer wharf keeps uncompressed (or as zstd): gzip it on all
//! cores while it uploads, and keep the gzip as a stored blob of the layer
//! so the next push of it needs no compression.

use std::io::{BufReader, Read};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use wharf_image::compress::gzip_parallel;
use wharf_oci::media_types::{self as mt, Compression};
use wharf_oci::Digest;
use wharf_store::distribution::{self, LayerBlob};
use wharf_store::{LayerRecord, Store};

use crate::manifest::Descriptor;
use crate::progress::Progress;
use crate::push::desc;
use crate::session::Session;
use crate::upload::{self, UploadSink};
use crate::{RegistryError, RegistryResult};

/// libdeflate's level for pushed layers: its fastest, which compresses
/// about as well as docker's gzip (Go's default level) at several times
/// the speed.
const GZIP_LEVEL: u32 = 1;

/// The layer's tar as a stream, whatever it is stored as.
fn layer_tar(store: &Store, l: &LayerRecord) -> RegistryResult<Box<dyn Read + Send>> {
    let f = BufReader::with_capacity(1 << 20, store.open_blob(&l.blob)?);
    Ok(match l.compression {
        Compression::None => Box::new(f),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(f)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(f)
                .map_err(|e| RegistryError::io(format!("reading layer {}", l.diff_id), e))?,
        ),
    })
}

/// gzip the layer on all cores while streaming it to the registry; keep
/// the gzip as a blob of the layer.
pub(crate) fn compress_and_upload(
    session: &Session,
    store: &Store,
    path: &str,
    l: &LayerRecord,
    progress: &dyn Progress,
) -> RegistryResult<Descriptor> {
    let temp = store.temp_path("gzip");
    let file = std::fs::File::create(&temp)
        .map_err(|e| RegistryError::io(format!("creating {}", temp.display()), e))?;
    let guard = RemoveOnDrop(temp.clone());
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let (done_tx, done_rx) = oneshot::channel::<RegistryResult<(Digest, u64)>>();
    let src = layer_tar(store, l)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let diff_id = l.diff_id.clone();
    let uploaded = std::thread::scope(|s| {
        s.spawn(move || {
            let mut sink = UploadSink::new(tx, file);
            let r = gzip_parallel(src, &mut sink, threads, GZIP_LEVEL)
                .and_then(|_| std::io::Write::flush(&mut sink))
                .map_err(|e| RegistryError::io(format!("compressing layer {diff_id}"), e))
                .map(|()| {
                    let (d, n, _) = sink.file.finish();
                    (d, n)
                });
            let _ = done_tx.send(r);
        });
        let (size_tx, size_rx) = std::sync::mpsc::channel();
        let digest = async move {
            let r = done_rx
                .await
                .map_err(|_| RegistryError::Protocol("the layer compressor stopped".into()))?;
            let (d, n) = r?;
            let _ = size_tx.send(n);
            Ok(d)
        };
        let r = session.block_on(upload::patch_stream(
            &session.client,
            path,
            rx,
            digest,
            progress,
            l.diff_id.short(),
        ));
        r.map(|d| (d, size_rx.recv().unwrap_or(0)))
    })?;
    let (digest, size) = uploaded;
    let _lock = store.commit_lock()?;
    store.commit_blob(&temp, &digest)?;
    std::mem::forget(guard);
    store.write(|tx| {
        distribution::add_layer_blob(
            tx,
            &LayerBlob {
                diff_id: l.diff_id.clone(),
                blob: digest.clone(),
                media_type: mt::DOCKER_LAYER_GZIP.into(),
                size,
                stored: true,
            },
        )
    })?;
    Ok(desc(mt::DOCKER_LAYER_GZIP, &digest, size))
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

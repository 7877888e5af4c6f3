//! Stream a layer into the store in one pass, on all cores.
//!
//! The calling thread reads the source in chunks and hands each chunk to
//! two workers: one hashes the raw bytes and writes them to a temp blob,
//! the other decompresses (gzip/zstd sniffed from the magic number),
//! hashes the tar for the diff ID when it was compressed, and unpacks it
//! into a temp tree. Unpacking is mostly kernel time in one thread, so the
//! blob copy rides along on the other core for free. Nothing is visible in
//! the store until [`crate::commit`] moves it into place; if anything fails,
//! or the result is dropped uncommitted, the temp files go.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use wharf_oci::media_types::Compression;
use wharf_oci::{Digest, HashingWriter};
use wharf_store::{LayerRecord, Store};

use crate::layer::{apply_layer, ApplyStats};
use crate::{ImageError, ImageResult};

const CHUNK: usize = 1 << 20;
/// Chunks in flight per worker: enough to ride out bursts, little memory.
const QUEUE: usize = 8;

/// A layer unpacked under `tmp/`, ready to be committed.
pub struct IngestedLayer {
    pub record: LayerRecord,
    temp: TempPaths,
}

impl IngestedLayer {
    pub fn diff_id(&self) -> &Digest {
        &self.record.diff_id
    }

    pub(crate) fn commit_into(mut self, store: &Store) -> ImageResult<LayerRecord> {
        store.commit_blob(&self.temp.blob, &self.record.blob)?;
        store.commit_layer_dir(&self.temp.tree.join("diff"), &self.record.diff_id)?;
        self.temp.armed = false;
        Ok(self.record.clone())
    }
}

/// Where a layer's blob bytes go while it streams in.
#[derive(Debug, Clone)]
pub enum BlobTarget {
    /// A fresh file under `tmp/`, removed unless committed.
    Temp,
    /// A download's `ingest/<hex>` file whose first `have` bytes are
    /// already there (a resumed download): those are hashed, not written
    /// again. It survives a failing source, so the next pull resumes, and
    /// is removed when its content turns out wrong.
    Partial { path: PathBuf, have: u64 },
}

/// Removes the temp blob and tree unless disarmed by a commit.
struct TempPaths {
    blob: PathBuf,
    tree: PathBuf,
    armed: bool,
    /// A partial download to keep for resuming (see [`BlobTarget::Partial`]).
    keep_blob: bool,
}

impl Drop for TempPaths {
    fn drop(&mut self) {
        if self.armed {
            if !self.keep_blob {
                let _ = fs::remove_file(&self.blob);
            }
            let _ = fs::remove_dir_all(&self.tree);
        }
    }
}

/// Reads the chunks a channel delivers; end of stream when the sender is gone.
struct ChannelReader {
    rx: Receiver<Arc<Vec<u8>>>,
    chunk: Arc<Vec<u8>>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Fill `buf` as far as the source allows; 0 only at end of stream.
pub(crate) fn read_chunk<R: Read>(src: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Unpack `src` (a layer blob, compressed or not) into a temp tree and keep
/// its bytes as a temp blob. `expected_blob`, when known (from a manifest),
/// is checked against the blob's digest.
pub fn ingest_layer<R: Read>(
    store: &Store,
    src: R,
    expected_blob: Option<&Digest>,
) -> ImageResult<IngestedLayer> {
    ingest_layer_into(store, src, expected_blob, BlobTarget::Temp)
}

/// [`ingest_layer`] with the blob going to `target`.
pub fn ingest_layer_into<R: Read>(
    store: &Store,
    mut src: R,
    expected_blob: Option<&Digest>,
    target: BlobTarget,
) -> ImageResult<IngestedLayer> {
    let (blob_path, mut skip) = match &target {
        BlobTarget::Temp => (store.temp_path("blob"), 0),
        BlobTarget::Partial { path, have } => (path.clone(), *have),
    };
    let mut temp = TempPaths {
        blob: blob_path,
        tree: store.temp_path("layer"),
        armed: true,
        keep_blob: matches!(target, BlobTarget::Partial { .. }),
    };
    let diff_dir = temp.tree.join("diff");
    fs::create_dir_all(&diff_dir)
        .map_err(|e| ImageError::io(format!("creating {}", diff_dir.display()), e))?;
    let file = fs::OpenOptions::new()
        .create(true)
        .append(skip > 0)
        .write(true)
        .truncate(skip == 0)
        .open(&temp.blob)
        .map_err(|e| ImageError::io(format!("creating {}", temp.blob.display()), e))?;

    let (blob_tx, blob_rx) = sync_channel::<Arc<Vec<u8>>>(QUEUE);
    let (tree_tx, tree_rx) = sync_channel::<Arc<Vec<u8>>>(QUEUE);
    let (read_result, written, unpacked) = std::thread::scope(|s| {
        let blob_path = &temp.blob;
        let writer = s.spawn(move || -> ImageResult<(Digest, u64)> {
            let mut hasher = HashingWriter::new(io::sink());
            let mut file = file;
            for chunk in blob_rx {
                hasher.write_all(&chunk).expect("hashing cannot fail");
                // Bytes a resumed download already has are only hashed.
                let fresh = (skip as usize).min(chunk.len());
                skip -= fresh as u64;
                file.write_all(&chunk[fresh..])
                    .map_err(|e| ImageError::io(format!("writing {}", blob_path.display()), e))?;
                // A crash with part of a layer written (pull, load, import).
                wharf_failpoint::hit("layer-ingest-mid");
            }
            let (digest, size, _) = hasher.finish();
            Ok((digest, size))
        });
        let dest = &diff_dir;
        let unpacker = s.spawn(move || {
            unpack(
                ChannelReader {
                    rx: tree_rx,
                    chunk: Arc::new(Vec::new()),
                    pos: 0,
                },
                dest,
            )
        });
        let read_result = (|| -> io::Result<()> {
            let mut tree_tx = Some(tree_tx);
            loop {
                let mut buf = vec![0u8; CHUNK];
                let n = read_chunk(&mut src, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                buf.truncate(n);
                let chunk = Arc::new(buf);
                // A worker that hung up has failed; its error is reported below.
                if blob_tx.send(chunk.clone()).is_err() {
                    return Ok(());
                }
                if tree_tx.as_ref().is_some_and(|t| t.send(chunk).is_err()) {
                    // A tampered blob usually breaks the unpacker first; read
                    // on so the digest check can name the real cause.
                    if expected_blob.is_none() {
                        return Ok(());
                    }
                    tree_tx = None;
                }
            }
        })();
        drop(blob_tx);
        let written = writer.join().expect("blob writer panicked");
        let unpacked = unpacker.join().expect("layer unpacker panicked");
        (read_result, written, unpacked)
    });
    read_result.map_err(|e| ImageError::io("reading layer", e))?;
    // From here on the whole blob was read: if it is wrong, it is no use
    // for resuming either.
    temp.keep_blob = false;
    let (blob, blob_size) = written?;
    if let Some(want) = expected_blob {
        if *want != blob {
            return Err(ImageError::invalid(format!(
                "layer digest mismatch: expected {want}, got {blob}"
            )));
        }
    }
    let (stats, diff_id, compression) = unpacked?;
    // A verified download not committed after all (another layer failed)
    // stays in ingest/ for the next pull.
    temp.keep_blob = matches!(target, BlobTarget::Partial { .. });
    let record = LayerRecord {
        diff_id: diff_id.unwrap_or_else(|| blob.clone()),
        size: stats.size,
        blob,
        compression,
        blob_size,
    };
    tracing::debug!(diff_id = %record.diff_id, size = record.size, "layer unpacked");
    Ok(IngestedLayer { record, temp })
}

/// The unpacking worker: sniff the compression, unpack, and (for compressed
/// blobs) hash the tar stream for the diff ID. Reads its input to the end.
fn unpack<R: Read + Send>(
    src: R,
    dest: &Path,
) -> ImageResult<(ApplyStats, Option<Digest>, Compression)> {
    let mut buffered = BufReader::with_capacity(CHUNK, src);
    let head = buffered
        .fill_buf()
        .map_err(|e| ImageError::io("reading layer", e))?;
    let compression = Compression::sniff(head);
    let (stats, diff_id, mut rest) = match compression {
        Compression::None => (apply_layer(&mut buffered, dest)?, None, buffered),
        Compression::Gzip => {
            unpack_via(flate2::bufread::MultiGzDecoder::new(buffered), dest, |d| {
                d.into_inner()
            })?
        }
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| ImageError::invalid(format!("invalid zstd layer: {e}")))?;
            unpack_via(dec, dest, |d| d.finish())?
        }
    };
    // Whatever follows the compressed stream still belongs to the blob.
    io::copy(&mut rest, &mut io::sink()).map_err(|e| ImageError::io("reading layer", e))?;
    Ok((stats, diff_id, compression))
}

/// Unpack through a decoder, hashing the decompressed stream for the diff ID,
/// and hand the underlying reader back. Decoding, hashing and unpacking
/// each run in their own thread: for a big layer each takes a second or
/// more, and this way they overlap on every core.
fn unpack_via<D: Read + Send, B: Send>(
    decoder: D,
    dest: &Path,
    into_inner: impl FnOnce(D) -> B + Send,
) -> ImageResult<(ApplyStats, Option<Digest>, B)> {
    let (tree_tx, tree_rx) = sync_channel::<Arc<Vec<u8>>>(QUEUE);
    let (hash_tx, hash_rx) = sync_channel::<Arc<Vec<u8>>>(QUEUE);
    std::thread::scope(|s| {
        let hashing = s.spawn(move || {
            let mut h = HashingWriter::new(io::sink());
            for chunk in hash_rx {
                h.write_all(&chunk).expect("hashing cannot fail");
            }
            h.finish().0
        });
        let decoding = s.spawn(move || -> io::Result<B> {
            let mut decoder = decoder;
            let mut tree_tx = Some(tree_tx);
            loop {
                let mut buf = vec![0u8; CHUNK];
                let n = read_chunk(&mut decoder, &mut buf)?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                let chunk = Arc::new(buf);
                // The unpacker stops at the tar's end (or fails): the rest
                // must still be hashed.
                if tree_tx
                    .as_ref()
                    .is_some_and(|t| t.send(chunk.clone()).is_err())
                {
                    tree_tx = None;
                }
                hash_tx
                    .send(chunk)
                    .expect("the hasher outlives the decoder");
            }
            Ok(into_inner(decoder))
        });
        let mut reader = ChannelReader {
            rx: tree_rx,
            chunk: Arc::new(Vec::new()),
            pos: 0,
        };
        let applied = apply_layer(&mut reader, dest);
        // Hang up so a decoder still sending is not blocked forever.
        drop(reader);
        let decoded = decoding.join().expect("layer decoder panicked");
        let diff_id = hashing.join().expect("layer hasher panicked");
        match (applied, decoded) {
            (_, Err(e)) => Err(ImageError::invalid(format!(
                "invalid compressed layer: {e}"
            ))),
            (Err(e), _) => Err(e.into()),
            (Ok(stats), Ok(inner)) => Ok((stats, Some(diff_id), inner)),
        }
    })
}

/// Adopt an overlay upper dir (a build step's changes) as a layer without
/// unpacking anything: the tree is moved under `tmp/` as it is (an upper
/// dir already is a layer tree in overlay format) and only its tar is
/// written, for the diff ID and the blob. `upper` is gone afterwards.
pub fn adopt_upper(store: &Store, upper: &Path) -> ImageResult<IngestedLayer> {
    let temp = TempPaths {
        blob: store.temp_path("blob"),
        tree: store.temp_path("layer"),
        armed: true,
        keep_blob: false,
    };
    fs::create_dir_all(&temp.tree)
        .map_err(|e| ImageError::io(format!("creating {}", temp.tree.display()), e))?;
    let diff = temp.tree.join("diff");
    fs::rename(upper, &diff)
        .map_err(|e| ImageError::io(format!("moving {}", upper.display()), e))?;
    let file = fs::File::create(&temp.blob)
        .map_err(|e| ImageError::io(format!("creating {}", temp.blob.display()), e))?;
    let out = crate::layer::write_layer(
        &diff,
        HashingWriter::new(io::BufWriter::with_capacity(CHUNK, file)),
        &crate::layer::DiffOptions { whiteouts: true },
    )?;
    let (diff_id, blob_size, w) = out.finish();
    w.into_inner()
        .map_err(|e| ImageError::io("writing layer", e.into_error()))?;
    let size = tree_size(&diff)?;
    Ok(IngestedLayer {
        record: LayerRecord {
            blob: diff_id.clone(),
            diff_id,
            size,
            compression: Compression::None,
            blob_size,
        },
        temp,
    })
}

/// Bytes of regular files under `dir`, hard links counted once.
fn tree_size(dir: &Path) -> ImageResult<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let rd =
            fs::read_dir(&d).map_err(|e| ImageError::io(format!("reading {}", d.display()), e))?;
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                todo.push(e.path());
            } else if m.is_file() && (m.nlink() == 1 || seen.insert(m.ino())) {
                total += m.len();
            }
        }
    }
    Ok(total)
}

//! Stream a layer into the store in one pass.
//!
//! The bytes are written to a temp blob and hashed as they arrive, then
//! decompressed (gzip/zstd sniffed from the magic number), hashed again for
//! the diff ID when compressed, and unpacked into a temp tree. Nothing is
//! visible in the store until [`crate::commit`] moves it into place; if
//! anything fails, or the result is dropped uncommitted, the temp files go.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use wharf_oci::media_types::Compression;
use wharf_oci::{Digest, HashingReader};
use wharf_store::{LayerRecord, Store};

use crate::layer::apply_layer;
use crate::{ImageError, ImageResult};

const BUF: usize = 1 << 20;

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

/// Removes the temp blob and tree unless disarmed by a commit.
struct TempPaths {
    blob: PathBuf,
    tree: PathBuf,
    armed: bool,
}

impl Drop for TempPaths {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.blob);
            let _ = fs::remove_dir_all(&self.tree);
        }
    }
}

/// Copies everything read through it into `out`: the blob file.
struct Tee<R, W> {
    inner: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Unpack `src` (a layer blob, compressed or not) into a temp tree and keep
/// its bytes as a temp blob. `expected_blob`, when known (from a manifest),
/// is checked against the blob's digest.
pub fn ingest_layer<R: Read>(
    store: &Store,
    src: R,
    expected_blob: Option<&Digest>,
) -> ImageResult<IngestedLayer> {
    let temp = TempPaths {
        blob: store.temp_path("blob"),
        tree: store.temp_path("layer"),
        armed: true,
    };
    let diff_dir = temp.tree.join("diff");
    fs::create_dir_all(&diff_dir)
        .map_err(|e| ImageError::io(format!("creating {}", diff_dir.display()), e))?;
    let file = File::create(&temp.blob)
        .map_err(|e| ImageError::io(format!("creating {}", temp.blob.display()), e))?;

    let raw = HashingReader::new(Tee {
        inner: src,
        out: BufWriter::with_capacity(BUF, file),
    });
    let mut buffered = BufReader::with_capacity(BUF, raw);
    let head = buffered
        .fill_buf()
        .map_err(|e| ImageError::io("reading layer", e))?;
    let compression = Compression::sniff(head);

    let (stats, diff_id, mut buffered) = match compression {
        Compression::None => {
            let stats = apply_layer(&mut buffered, &diff_dir)?;
            (stats, None, buffered)
        }
        Compression::Gzip => unpack_via(
            flate2::bufread::MultiGzDecoder::new(buffered),
            &diff_dir,
            |d| d.into_inner(),
        )?,
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| ImageError::invalid(format!("invalid zstd layer: {e}")))?;
            unpack_via(dec, &diff_dir, |d| d.finish())?
        }
    };
    // Whatever follows the compressed stream still belongs to the blob.
    io::copy(&mut buffered, &mut io::sink()).map_err(|e| ImageError::io("reading layer", e))?;
    let (blob, blob_size, tee) = buffered.into_inner().finish();
    let mut out = tee.out;
    out.flush()
        .map_err(|e| ImageError::io(format!("writing {}", temp.blob.display()), e))?;
    drop(out);

    if let Some(want) = expected_blob {
        if *want != blob {
            return Err(ImageError::invalid(format!(
                "layer digest mismatch: expected {want}, got {blob}"
            )));
        }
    }
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

/// Unpack through a decoder, hashing the decompressed stream for the diff ID,
/// and hand the underlying reader back.
fn unpack_via<D: Read, B>(
    decoder: D,
    dest: &Path,
    into_inner: impl FnOnce(D) -> B,
) -> ImageResult<(crate::layer::ApplyStats, Option<Digest>, B)> {
    let mut hashed = HashingReader::new(decoder);
    let stats = apply_layer(&mut hashed, dest)?;
    // The decoder may stop at the tar's end; the rest must still be hashed.
    io::copy(&mut hashed, &mut io::sink())
        .map_err(|e| ImageError::invalid(format!("invalid compressed layer: {e}")))?;
    let (diff_id, _, decoder) = hashed.finish();
    Ok((stats, Some(diff_id), into_inner(decoder)))
}

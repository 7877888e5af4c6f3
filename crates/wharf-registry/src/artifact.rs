//! Blobs and manifests that are not an image of the store: the builder's
//! cache export (`--cache-to type=registry`) pushes an index of layer
//! blobs and a cache config, and its import reads them back. Blocking
//! calls on a [`Session`], as the rest of the crate's API.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use wharf_oci::Digest;

use crate::blobs::{download, fetch_small, ErrorSlot};
use crate::progress::Silent;
use crate::session::Session;
use crate::upload;
use crate::{RegistryError, RegistryResult};

/// Upload the file `file` as blob `digest` of repository `path`, unless
/// the repository has it already.
pub fn push_blob_file(
    session: &Session,
    path: &str,
    digest: &Digest,
    file: &Path,
    size: u64,
) -> RegistryResult<()> {
    session.block_on(async {
        if upload::exists(&session.client, path, digest).await? {
            return Ok(());
        }
        upload::put_file(
            &session.client,
            path,
            digest,
            file.to_path_buf(),
            size,
            &Silent,
            digest.short(),
        )
        .await
    })
}

/// Upload `data` as a blob of repository `path` (a cache config), unless
/// the repository has it already.
pub fn push_blob_bytes(session: &Session, path: &str, data: &[u8]) -> RegistryResult<Digest> {
    let digest = Digest::of(data);
    session.block_on(async {
        if !upload::exists(&session.client, path, &digest).await? {
            upload::put_bytes(&session.client, path, &digest, Bytes::from(data.to_vec())).await?;
        }
        Ok::<_, RegistryError>(())
    })?;
    Ok(digest)
}

/// PUT `bytes` (of `media_type`) as the manifest tagged `tag`.
pub fn put_manifest(
    session: &Session,
    path: &str,
    tag: &str,
    media_type: &str,
    bytes: &[u8],
) -> RegistryResult<Digest> {
    session.block_on(upload::put_manifest(
        &session.client,
        path,
        tag,
        media_type,
        Bytes::from(bytes.to_vec()),
    ))?;
    Ok(Digest::of(bytes))
}

/// The manifest (or index) `reference` names in repository `path`, as
/// bytes (verified) and media type.
pub fn get_manifest(
    session: &Session,
    path: &str,
    reference: &str,
    shown: &str,
) -> RegistryResult<(Vec<u8>, String)> {
    let f = session.manifest(path, reference, shown)?;
    Ok((f.bytes, f.media_type))
}

/// A small blob (a config) whole, verified.
pub fn get_small_blob(session: &Session, path: &str, digest: &Digest) -> RegistryResult<Vec<u8>> {
    session.block_on(fetch_small(&session.client, path, digest))
}

/// A layer blob as a stream; the caller checks its digest (the layer
/// ingester does). A failed transfer is the reader's error.
pub fn blob_reader<'s>(
    session: &'s Session,
    path: &str,
    digest: &Digest,
    size: u64,
) -> Box<dyn Read + 's> {
    let slot = ErrorSlot::default();
    Box::new(download(
        session.handle(),
        session.client.clone(),
        path,
        digest,
        size,
        0,
        &Silent,
        digest.short(),
        slot,
    ))
}

//! What wharf knows about registries' copies of its content: which
//! compressed blobs hold a layer, which repositories have a blob, and the
//! manifests pulled or pushed. Push uses it to skip, mount or reuse blobs
//! instead of compressing and uploading again; pull records it.

use rusqlite::{params, Connection};
use wharf_oci::Digest;

use crate::layers::digest_col;
use crate::StoreResult;

/// A registry blob holding the tar of layer `diff_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerBlob {
    pub diff_id: Digest,
    pub blob: Digest,
    pub media_type: String,
    pub size: u64,
    /// The blob's bytes are in `blobs/` (so it can be uploaded as is).
    pub stored: bool,
}

pub fn add_layer_blob(conn: &Connection, b: &LayerBlob) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO layer_blobs (diff_id, blob, media_type, size, stored) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(diff_id, blob) DO UPDATE SET stored = max(stored, excluded.stored)",
        params![
            b.diff_id.to_string(),
            b.blob.to_string(),
            b.media_type,
            b.size as i64,
            b.stored as i64
        ],
    )?;
    Ok(())
}

/// Known blobs of one layer, stored ones first.
pub fn layer_blobs(conn: &Connection, diff_id: &Digest) -> StoreResult<Vec<LayerBlob>> {
    let mut st = conn.prepare_cached(
        "SELECT diff_id, blob, media_type, size, stored FROM layer_blobs
         WHERE diff_id = ?1 ORDER BY stored DESC, blob",
    )?;
    let rows = st.query_map([diff_id.to_string()], |r| {
        Ok(LayerBlob {
            diff_id: digest_col(r, 0)?,
            blob: digest_col(r, 1)?,
            media_type: r.get(2)?,
            size: r.get::<_, i64>(3)? as u64,
            stored: r.get::<_, i64>(4)? != 0,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Record that `repository` (`host/path`) holds `blob`.
pub fn add_blob_source(conn: &Connection, blob: &Digest, repository: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO blob_sources (blob, repository) VALUES (?1, ?2)",
        params![blob.to_string(), repository],
    )?;
    Ok(())
}

/// Repositories known to hold `blob`.
pub fn blob_sources(conn: &Connection, blob: &Digest) -> StoreResult<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT repository FROM blob_sources WHERE blob = ?1 ORDER BY repository",
    )?;
    let rows = st.query_map([blob.to_string()], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Record a manifest (or index) whose bytes are blob `digest`, for `image_id`.
pub fn add_manifest(
    conn: &Connection,
    digest: &Digest,
    image_id: &Digest,
    media_type: &str,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO manifests (digest, image_id, media_type) VALUES (?1, ?2, ?3)
         ON CONFLICT(digest) DO UPDATE SET image_id = excluded.image_id",
        params![digest.to_string(), image_id.to_string(), media_type],
    )?;
    Ok(())
}

/// Manifests recorded for an image: (digest, media type).
pub fn manifests_of(conn: &Connection, image_id: &Digest) -> StoreResult<Vec<(Digest, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT digest, media_type FROM manifests WHERE image_id = ?1 ORDER BY digest",
    )?;
    let rows = st.query_map([image_id.to_string()], |r| {
        Ok((digest_col(r, 0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Drop rows that point at layers or images that are gone; returns the
/// stored blobs that nothing needs any more.
pub(crate) fn drop_dangling(conn: &Connection) -> StoreResult<Vec<Digest>> {
    let mut dead = Vec::new();
    {
        let mut st = conn.prepare(
            "SELECT blob FROM layer_blobs WHERE stored = 1
               AND diff_id NOT IN (SELECT diff_id FROM layers)
             UNION SELECT digest FROM manifests WHERE image_id NOT IN (SELECT id FROM images)",
        )?;
        let rows = st.query_map([], |r| digest_col(r, 0))?;
        for d in rows {
            dead.push(d?);
        }
    }
    conn.execute(
        "DELETE FROM layer_blobs WHERE diff_id NOT IN (SELECT diff_id FROM layers)",
        [],
    )?;
    conn.execute(
        "DELETE FROM manifests WHERE image_id NOT IN (SELECT id FROM images)",
        [],
    )?;
    // A blob still stored for another layer or manifest stays.
    let mut keep = conn.prepare(
        "SELECT 1 FROM layer_blobs WHERE blob = ?1 AND stored = 1
         UNION SELECT 1 FROM manifests WHERE digest = ?1
         UNION SELECT 1 FROM layers WHERE blob = ?1",
    )?;
    let mut out = Vec::new();
    for d in dead {
        if !keep.exists([d.to_string()])? {
            out.push(d);
        }
    }
    Ok(out)
}

/// Every stored blob these tables account for (hex), for orphan sweeping.
pub(crate) fn stored_blobs(conn: &Connection) -> StoreResult<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT blob FROM layer_blobs WHERE stored = 1 UNION SELECT digest FROM manifests",
    )?;
    let rows = st.query_map([], |r| digest_col(r, 0))?;
    rows.map(|d| Ok(d?.hex().to_string())).collect()
}

/// Blobs these tables say are stored, with the row that needs each (for
/// `system check`).
pub(crate) fn required_blobs(conn: &Connection) -> StoreResult<Vec<(Digest, String)>> {
    let mut st = conn.prepare(
        "SELECT blob, 'layer ' || diff_id FROM layer_blobs WHERE stored = 1
         UNION SELECT digest, 'manifest of image ' || image_id FROM manifests",
    )?;
    let rows = st.query_map([], |r| Ok((digest_col(r, 0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

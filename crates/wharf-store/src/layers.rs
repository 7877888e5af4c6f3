//! Layer rows: one per unpacked layer tree, keyed by diff ID.

use rusqlite::{params, Connection, OptionalExtension, Row};
use wharf_oci::media_types::Compression;
use wharf_oci::Digest;

use crate::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct LayerRecord {
    pub diff_id: Digest,
    /// Bytes of regular files in the unpacked tree (docker's layer size).
    pub size: u64,
    /// The stored tar blob this layer was unpacked from.
    pub blob: Digest,
    pub compression: Compression,
    pub blob_size: u64,
}

pub(crate) fn digest_col(row: &Row, i: usize) -> rusqlite::Result<Digest> {
    let s: String = row.get(i)?;
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn from_row(row: &Row) -> rusqlite::Result<LayerRecord> {
    let comp: String = row.get(3)?;
    Ok(LayerRecord {
        diff_id: digest_col(row, 0)?,
        size: row.get::<_, i64>(1)? as u64,
        blob: digest_col(row, 2)?,
        compression: Compression::parse(&comp).unwrap_or(Compression::None),
        blob_size: row.get::<_, i64>(4)? as u64,
    })
}

const COLS: &str = "diff_id, size, blob, compression, blob_size";

pub fn get(conn: &Connection, diff_id: &Digest) -> StoreResult<Option<LayerRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM layers WHERE diff_id = ?1"),
            [diff_id.to_string()],
            from_row,
        )
        .optional()?)
}

/// Record a layer whose tree is in place. An existing row wins: same diff
/// ID means same content.
pub fn put(conn: &Connection, l: &LayerRecord) -> StoreResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO layers (diff_id, size, blob, compression, blob_size, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            l.diff_id.to_string(),
            l.size as i64,
            l.blob.to_string(),
            l.compression.as_str(),
            l.blob_size as i64,
            chrono::Utc::now().to_rfc3339()
        ],
    )?;
    Ok(())
}

pub fn all(conn: &Connection) -> StoreResult<Vec<LayerRecord>> {
    let mut st = conn.prepare(&format!("SELECT {COLS} FROM layers"))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Layers neither an image nor the build cache references.
pub fn unreferenced(conn: &Connection) -> StoreResult<Vec<LayerRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM image_layers) \
         AND diff_id NOT IN (SELECT diff_id FROM build_cache WHERE diff_id IS NOT NULL)"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn delete(conn: &Connection, diff_id: &Digest) -> StoreResult<()> {
    let n = conn.execute(
        "DELETE FROM layers WHERE diff_id = ?1",
        [diff_id.to_string()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("no such layer: {diff_id}")));
    }
    Ok(())
}

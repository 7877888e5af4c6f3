//! The builder's records: step results by cache key, and content hashes of
//! context files by their stat identity (so an unchanged context is not
//! re-read).
//!
//! A cache entry keeps its layer alive: [`crate::layers::unreferenced`]
//! skips layers a cache entry points at, so `rmi` of a built image leaves
//! the next build cached, as with BuildKit; `builder prune` drops entries.

use rusqlite::{params, Connection, OptionalExtension};
use wharf_oci::Digest;

use crate::StoreResult;

/// The result of one cached build step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub key: String,
    /// The layer the step produced; `None` for steps without a layer.
    pub diff_id: Option<Digest>,
    /// When the step ran: its history entry's `created`.
    pub created: String,
}

fn parse_digest(s: Option<String>) -> rusqlite::Result<Option<Digest>> {
    s.map(|s| {
        s.parse::<Digest>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

pub fn get(conn: &Connection, key: &str) -> StoreResult<Option<CacheEntry>> {
    Ok(conn
        .query_row(
            "SELECT key, diff_id, created FROM build_cache WHERE key = ?1",
            [key],
            |r| {
                Ok(CacheEntry {
                    key: r.get(0)?,
                    diff_id: parse_digest(r.get(1)?)?,
                    created: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Record (or refresh) a step's result.
pub fn put(conn: &Connection, e: &CacheEntry) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO build_cache (key, diff_id, created, last_used) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(key) DO UPDATE SET diff_id = excluded.diff_id, created = excluded.created, \
         last_used = excluded.last_used",
        params![
            e.key,
            e.diff_id.as_ref().map(|d| d.to_string()),
            e.created,
            chrono::Utc::now().to_rfc3339()
        ],
    )?;
    Ok(())
}

pub fn touch(conn: &Connection, key: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE build_cache SET last_used = ?2 WHERE key = ?1",
        params![key, chrono::Utc::now().to_rfc3339()],
    )?;
    Ok(())
}

/// Drop every entry; returns how many there were and the layers they held.
pub fn clear(conn: &Connection) -> StoreResult<(usize, Vec<Digest>)> {
    let mut st =
        conn.prepare("SELECT DISTINCT diff_id FROM build_cache WHERE diff_id IS NOT NULL")?;
    let layers = st
        .query_map([], |r| parse_digest(r.get(0)?))?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let n = conn.execute("DELETE FROM build_cache", [])?;
    conn.execute("DELETE FROM build_file_hashes", [])?;
    Ok((n, layers))
}

/// How a file looked when its content was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

/// The cached content digest of `path`, if it was hashed with this stamp.
pub fn file_hash(conn: &Connection, path: &str, stamp: &FileStamp) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT digest FROM build_file_hashes WHERE path = ?1 AND ino = ?2 AND size = ?3 \
             AND mtime_ns = ?4 AND ctime_ns = ?5",
        )?
        .query_row(
            params![
                path,
                stamp.ino as i64,
                stamp.size as i64,
                stamp.mtime_ns,
                stamp.ctime_ns
            ],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn put_file_hash(
    conn: &Connection,
    path: &str,
    stamp: &FileStamp,
    digest: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO build_file_hashes (path, ino, size, mtime_ns, ctime_ns, digest) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        path,
        stamp.ino as i64,
        stamp.size as i64,
        stamp.mtime_ns,
        stamp.ctime_ns,
        digest
    ])?;
    Ok(())
}

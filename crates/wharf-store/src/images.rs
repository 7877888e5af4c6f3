//! Image, tag and repo-digest rows.

use rusqlite::{params, Connection, OptionalExtension, Row};
use wharf_oci::Digest;

use crate::layers::digest_col as digest_column;
use crate::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct ImageRecord {
    pub id: Digest,
    pub size: u64,
    /// `created` from the config (RFC 3339), if it has one.
    pub created: Option<String>,
    /// When this store first got the image.
    pub added_at: String,
    pub last_tag_time: Option<String>,
    pub parent: Option<Digest>,
    /// Diff IDs, bottom layer first.
    pub layers: Vec<Digest>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TagRecord {
    /// Fully qualified reference: `docker.io/library/busybox:latest`.
    pub name: String,
    pub image_id: Digest,
}

fn from_row(row: &Row) -> rusqlite::Result<ImageRecord> {
    let parent: Option<String> = row.get(5)?;
    Ok(ImageRecord {
        id: digest_column(row, 0)?,
        size: row.get::<_, i64>(1)? as u64,
        created: row.get(2)?,
        added_at: row.get(3)?,
        last_tag_time: row.get(4)?,
        parent: parent.and_then(|p| p.parse().ok()),
        layers: Vec::new(),
    })
}

const COLS: &str = "id, size, created, added_at, last_tag_time, parent";

fn with_layers(conn: &Connection, mut img: ImageRecord) -> StoreResult<ImageRecord> {
    let mut st =
        conn.prepare_cached("SELECT diff_id FROM image_layers WHERE image_id = ?1 ORDER BY idx")?;
    let rows = st.query_map([img.id.to_string()], |r| digest_column(r, 0))?;
    img.layers = rows.collect::<Result<_, _>>()?;
    Ok(img)
}

/// Insert an image whose config blob and layers are in place. Inserting an
/// existing ID is a no-op (same ID, same content). Returns whether it was new.
pub fn insert(conn: &Connection, img: &ImageRecord) -> StoreResult<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO images (id, size, created, added_at, last_tag_time, parent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            img.id.to_string(),
            img.size as i64,
            img.created,
            img.added_at,
            img.last_tag_time,
            img.parent.as_ref().map(|p| p.to_string())
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    let mut st = conn
        .prepare_cached("INSERT INTO image_layers (image_id, idx, diff_id) VALUES (?1, ?2, ?3)")?;
    for (i, l) in img.layers.iter().enumerate() {
        st.execute(params![img.id.to_string(), i as i64, l.to_string()])?;
    }
    Ok(true)
}

pub fn get(conn: &Connection, id: &Digest) -> StoreResult<Option<ImageRecord>> {
    let img = conn
        .query_row(
            &format!("SELECT {COLS} FROM images WHERE id = ?1"),
            [id.to_string()],
            from_row,
        )
        .optional()?;
    img.map(|i| with_layers(conn, i)).transpose()
}

pub fn list(conn: &Connection) -> StoreResult<Vec<ImageRecord>> {
    let mut st = conn.prepare(&format!("SELECT {COLS} FROM images ORDER BY added_at DESC"))?;
    let imgs: Vec<ImageRecord> = st.query_map([], from_row)?.collect::<Result<_, _>>()?;
    imgs.into_iter().map(|i| with_layers(conn, i)).collect()
}

/// IDs starting with `hex_prefix` (the part after `sha256:`).
pub fn ids_with_prefix(conn: &Connection, hex_prefix: &str) -> StoreResult<Vec<Digest>> {
    let mut st = conn.prepare("SELECT id FROM images WHERE id >= ?1 AND id < ?2")?;
    let lo = format!("sha256:{hex_prefix}");
    let hi = format!("sha256:{hex_prefix}\u{10FFFF}");
    let rows = st.query_map([lo, hi], |r| digest_column(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn delete(conn: &Connection, id: &Digest) -> StoreResult<()> {
    let n = conn.execute("DELETE FROM images WHERE id = ?1", [id.to_string()])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("No such image: {id}")));
    }
    Ok(())
}

/// Images whose recorded parent is `id` (docker refuses to delete those parents).
pub fn children(conn: &Connection, id: &Digest) -> StoreResult<Vec<Digest>> {
    let mut st = conn.prepare("SELECT id FROM images WHERE parent = ?1")?;
    let rows = st.query_map([id.to_string()], |r| digest_column(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn resolve_tag(conn: &Connection, name: &str) -> StoreResult<Option<Digest>> {
    Ok(conn
        .query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
            digest_column(r, 0)
        })
        .optional()?)
}

/// Point `name` at `id`; returns the image it pointed at before, if another.
pub fn set_tag(conn: &Connection, name: &str, id: &Digest) -> StoreResult<Option<Digest>> {
    let before = resolve_tag(conn, name)?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    conn.execute(
        "INSERT INTO tags (name, image_id, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, created_at = excluded.created_at",
        params![name, id.to_string(), now],
    )?;
    conn.execute(
        "UPDATE images SET last_tag_time = ?2 WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    Ok(before.filter(|b| b != id))
}

pub fn remove_tag(conn: &Connection, name: &str) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM tags WHERE name = ?1", [name])? > 0)
}

/// Tags of one image, in the order they were made.
pub fn tags_of(conn: &Connection, id: &Digest) -> StoreResult<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT name FROM tags WHERE image_id = ?1 ORDER BY created_at, name")?;
    let rows = st.query_map([id.to_string()], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn all_tags(conn: &Connection) -> StoreResult<Vec<TagRecord>> {
    name_rows(conn, "SELECT name, image_id FROM tags ORDER BY name")
}

/// Every repo digest (`name@sha256:...`) with its image, by name: one read
/// for a listing of all images instead of one per image.
pub fn all_repo_digests(conn: &Connection) -> StoreResult<Vec<TagRecord>> {
    name_rows(
        conn,
        "SELECT name, image_id FROM repo_digests ORDER BY name",
    )
}

fn name_rows(conn: &Connection, sql: &str) -> StoreResult<Vec<TagRecord>> {
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map([], |r| {
        Ok(TagRecord {
            name: r.get(0)?,
            image_id: digest_column(r, 1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn repo_digests_of(conn: &Connection, id: &Digest) -> StoreResult<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT name FROM repo_digests WHERE image_id = ?1 ORDER BY name")?;
    let rows = st.query_map([id.to_string()], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn add_repo_digest(conn: &Connection, name: &str, id: &Digest) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO repo_digests (name, image_id) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
        params![name, id.to_string()],
    )?;
    Ok(())
}

pub fn resolve_repo_digest(conn: &Connection, name: &str) -> StoreResult<Option<Digest>> {
    Ok(conn
        .query_row(
            "SELECT image_id FROM repo_digests WHERE name = ?1",
            [name],
            |r| digest_column(r, 0),
        )
        .optional()?)
}

pub fn remove_repo_digest(conn: &Connection, name: &str) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM repo_digests WHERE name = ?1", [name])? > 0)
}

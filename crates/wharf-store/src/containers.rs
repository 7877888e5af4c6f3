//! Container rows: identity, state and the run options they were made with.

use rusqlite::{params, Connection, OptionalExtension, Row};
use wharf_oci::Digest;

use crate::layers::digest_col;
use crate::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image_id: Digest,
    pub image_ref: String,
    pub created: String,
    pub state: String,
    pub pid: Option<i32>,
    pub monitor_pid: Option<i32>,
    pub exit_code: Option<i32>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The engine's JSON record of how the container was made.
    pub config: String,
    /// Frozen by `pause` (the state stays `running`).
    pub paused: bool,
}

const COLS: &str =
    "id, name, image_id, image_ref, created, state, pid, monitor_pid, exit_code, started_at, finished_at, config, paused";

fn from_row(r: &Row) -> rusqlite::Result<ContainerRecord> {
    Ok(ContainerRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: digest_col(r, 2)?,
        image_ref: r.get(3)?,
        created: r.get(4)?,
        state: r.get(5)?,
        pid: r.get(6)?,
        monitor_pid: r.get(7)?,
        exit_code: r.get(8)?,
        started_at: r.get(9)?,
        finished_at: r.get(10)?,
        config: r.get(11)?,
        paused: r.get::<_, i64>(12)? != 0,
    })
}

/// Insert a new container; a taken name is a conflict, as in docker.
pub fn insert(conn: &Connection, c: &ContainerRecord) -> StoreResult<()> {
    let taken: Option<String> = conn
        .query_row(
            "SELECT id FROM containers WHERE name = ?1",
            [&c.name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = taken {
        return Err(StoreError::Conflict(format!(
            "Conflict. The container name \"/{}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name.",
            c.name
        )));
    }
    conn.execute(
        &format!("INSERT INTO containers ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
        params![
            c.id,
            c.name,
            c.image_id.to_string(),
            c.image_ref,
            c.created,
            c.state,
            c.pid,
            c.monitor_pid,
            c.exit_code,
            c.started_at,
            c.finished_at,
            c.config,
            c.paused as i64
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> StoreResult<Option<ContainerRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM containers WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn by_name(conn: &Connection, name: &str) -> StoreResult<Option<ContainerRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM containers WHERE name = ?1"),
            [name],
            from_row,
        )
        .optional()?)
}

pub fn ids_with_prefix(conn: &Connection, prefix: &str) -> StoreResult<Vec<String>> {
    let mut st = conn.prepare("SELECT id FROM containers WHERE id >= ?1 AND id < ?2")?;
    let rows = st.query_map([prefix.to_string(), format!("{prefix}\u{10FFFF}")], |r| {
        r.get(0)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn list(conn: &Connection) -> StoreResult<Vec<ContainerRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM containers ORDER BY created DESC"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Containers made from an image (docker refuses to delete such images).
pub fn using_image(conn: &Connection, image: &Digest) -> StoreResult<Vec<ContainerRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM containers WHERE image_id = ?1"
    ))?;
    let rows = st.query_map([image.to_string()], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_running(
    conn: &Connection,
    id: &str,
    pid: i32,
    monitor_pid: i32,
    started_at: &str,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE containers SET state = 'running', pid = ?2, monitor_pid = ?3, started_at = ?4, exit_code = NULL WHERE id = ?1",
        params![id, pid, monitor_pid, started_at],
    )?;
    Ok(())
}

pub fn set_exited(
    conn: &Connection,
    id: &str,
    exit_code: i32,
    finished_at: &str,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE containers SET state = 'exited', pid = NULL, monitor_pid = NULL, paused = 0, exit_code = ?2, finished_at = ?3 WHERE id = ?1",
        params![id, exit_code, finished_at],
    )?;
    Ok(())
}

pub fn set_paused(conn: &Connection, id: &str, paused: bool) -> StoreResult<()> {
    conn.execute(
        "UPDATE containers SET paused = ?2 WHERE id = ?1",
        params![id, paused as i64],
    )?;
    Ok(())
}

/// `docker rename`: a taken name is a conflict.
pub fn rename(conn: &Connection, id: &str, name: &str) -> StoreResult<()> {
    if let Some(other) = by_name(conn, name)? {
        return Err(StoreError::Conflict(format!(
            "Conflict. The container name \"/{name}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
            other.id
        )));
    }
    conn.execute(
        "UPDATE containers SET name = ?2 WHERE id = ?1",
        params![id, name],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM containers WHERE id = ?1", [id])? > 0)
}

//! Container rows: one typed [`ContainerRecord`] each. The state lives in
//! columns (monitors update it while the CLI may edit the definition); the
//! definition is one JSON document. Every status change goes through
//! [`transition`], which reads the current status in the same transaction
//! and refuses a move the lifecycle does not allow.

use rusqlite::{params, Connection, OptionalExtension, Row};
pub use wharf_model::ContainerRecord;
use wharf_model::{ContainerState, Definition, Health, Status};
use wharf_oci::Digest;

use crate::layers::digest_col;
use crate::{StoreError, StoreResult};

const COLS: &str = "id, name, image_id, image_ref, created, config, state, pid, monitor_pid, \
     exit_code, started_at, finished_at, restart_count, error, oom_killed, health";

const STATE_COLS: &str = "state, pid, monitor_pid, exit_code, started_at, finished_at, \
     restart_count, error, oom_killed, health";

fn corrupt(col: usize, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        e.to_string().into(),
    )
}

/// The state columns starting at `at`.
fn state_from(r: &Row, at: usize) -> rusqlite::Result<ContainerState> {
    let status: String = r.get(at)?;
    let health: Option<String> = r.get(at + 9)?;
    Ok(ContainerState {
        status: status.parse().map_err(|e| corrupt(at, e))?,
        pid: r.get(at + 1)?,
        monitor_pid: r.get(at + 2)?,
        exit_code: r.get(at + 3)?,
        started_at: r.get(at + 4)?,
        finished_at: r.get(at + 5)?,
        restart_count: r.get::<_, i64>(at + 6)? as u32,
        error: r.get(at + 7)?,
        oom_killed: r.get::<_, i64>(at + 8)? != 0,
        health: health
            .map(|h| serde_json::from_str::<Health>(&h))
            .transpose()
            .map_err(|e| corrupt(at + 9, e))?,
    })
}

fn from_row(r: &Row) -> rusqlite::Result<ContainerRecord> {
    let definition: String = r.get(5)?;
    Ok(ContainerRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: digest_col(r, 2)?,
        created: r.get(4)?,
        state: state_from(r, 6)?,
        definition: serde_json::from_str::<Definition>(&definition).map_err(|e| corrupt(5, e))?,
    })
}

fn definition_json(d: &Definition) -> StoreResult<String> {
    serde_json::to_string(d).map_err(|e| StoreError::Invalid(format!("container definition: {e}")))
}

fn health_json(h: &Option<Health>) -> StoreResult<Option<String>> {
    h.as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(format!("container health: {e}")))
}

fn name_conflict(name: &str, other: &str) -> StoreError {
    StoreError::Conflict(format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
    ))
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
        return Err(name_conflict(&c.name, &other));
    }
    conn.execute(
        "INSERT INTO containers (id, name, image_id, image_ref, created, config, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            c.id,
            c.name,
            c.image_id.to_string(),
            c.definition.image_ref(),
            c.created,
            definition_json(&c.definition)?,
            c.state.status.as_str(),
        ],
    )?;
    write_state(conn, &c.id, &c.state)?;
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

/// Only the state of container `id` (a monitor's or a waiter's poll).
pub fn state(conn: &Connection, id: &str) -> StoreResult<Option<ContainerState>> {
    Ok(conn
        .query_row(
            &format!("SELECT {STATE_COLS} FROM containers WHERE id = ?1"),
            [id],
            |r| state_from(r, 0),
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

/// Write the state columns of container `id`.
fn write_state(conn: &Connection, id: &str, s: &ContainerState) -> StoreResult<()> {
    conn.execute(
        "UPDATE containers SET state = ?2, pid = ?3, monitor_pid = ?4, exit_code = ?5, started_at = ?6, finished_at = ?7, restart_count = ?8, error = ?9, oom_killed = ?10, health = ?11 WHERE id = ?1",
        params![
            id,
            s.status.as_str(),
            s.pid,
            s.monitor_pid,
            s.exit_code,
            s.started_at,
            s.finished_at,
            s.restart_count as i64,
            s.error,
            s.oom_killed as i64,
            health_json(&s.health)?,
        ],
    )?;
    Ok(())
}

/// Move container `id` to status `to`, changing its state with `f` in the
/// same transaction. A move the lifecycle forbids is refused with the
/// model's error and nothing changes.
pub fn transition(
    conn: &Connection,
    id: &str,
    to: Status,
    f: impl FnOnce(&mut ContainerState),
) -> StoreResult<ContainerState> {
    let mut s =
        state(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("No such container: {id}")))?;
    s.status = s.status.transition(to)?;
    f(&mut s);
    write_state(conn, id, &s)?;
    Ok(s)
}

/// The monitor started the container, or restarted it for the
/// `restarts`th time by its restart policy (0: a user's start, which
/// resets the count as docker's does). `checked`: it has a health check,
/// which starts over (`starting`, no failures; docker keeps the log of
/// earlier runs).
pub fn set_running(
    conn: &Connection,
    id: &str,
    pid: i32,
    monitor_pid: i32,
    started_at: &str,
    checked: bool,
    restarts: u32,
) -> StoreResult<()> {
    transition(conn, id, Status::Running, |s| {
        s.restart_count = restarts;
        s.pid = Some(pid);
        s.monitor_pid = Some(monitor_pid);
        s.started_at = Some(started_at.to_string());
        s.exit_code = None;
        s.error.clear();
        s.oom_killed = false;
        if checked {
            let h = s.health.get_or_insert_with(Health::default);
            h.status = wharf_model::HealthStatus::Starting;
            h.failing_streak = 0;
        }
    })?;
    Ok(())
}

/// The container's process ended with `exit_code` (or never started: a
/// first start that failed leaves it `created`, as docker does, with the
/// code and `error`).
pub fn set_exited(
    conn: &Connection,
    id: &str,
    exit_code: i32,
    error: &str,
    finished_at: &str,
) -> StoreResult<()> {
    let current = state(conn, id)?.map(|s| s.status);
    let to = match current {
        Some(Status::Created) if !error.is_empty() => Status::Created,
        _ => Status::Exited,
    };
    transition(conn, id, to, |s| {
        s.pid = None;
        s.monitor_pid = None;
        s.exit_code = Some(exit_code);
        s.error = error.to_string();
        s.finished_at = Some(finished_at.to_string());
        if let Some(h) = &mut s.health {
            // docker keeps the log but a stopped container is not checked.
            h.status = wharf_model::HealthStatus::Unhealthy;
            h.failing_streak = 0;
        }
    })?;
    Ok(())
}

/// The kernel's OOM killer ended the container's process (docker's
/// `State.OOMKilled`, until the next start).
pub fn set_oom_killed(conn: &Connection, id: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE containers SET oom_killed = 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

/// The container exited with `exit_code` and its monitor waits out the
/// restart back-off before restart number `restarts`.
pub fn set_restarting(
    conn: &Connection,
    id: &str,
    exit_code: i32,
    finished_at: &str,
    restarts: u32,
) -> StoreResult<()> {
    transition(conn, id, Status::Restarting, |s| {
        s.pid = None;
        s.exit_code = Some(exit_code);
        s.finished_at = Some(finished_at.to_string());
        s.restart_count = restarts;
    })?;
    Ok(())
}

pub fn set_paused(conn: &Connection, id: &str, paused: bool) -> StoreResult<()> {
    let to = if paused {
        Status::Paused
    } else {
        Status::Running
    };
    transition(conn, id, to, |_| {})?;
    Ok(())
}

/// Record a health probe of container `id` with `record` (only while it
/// runs): its health status before and after, or `None` when it no
/// longer runs or has no health check.
pub fn update_health(
    conn: &Connection,
    id: &str,
    record: impl FnOnce(&mut Health),
) -> StoreResult<Option<(wharf_model::HealthStatus, wharf_model::HealthStatus)>> {
    let Some(mut h) = state(conn, id)?
        .filter(|s| matches!(s.status, Status::Running | Status::Paused))
        .and_then(|s| s.health)
    else {
        return Ok(None);
    };
    let before = h.status;
    record(&mut h);
    set_health(conn, id, &h)?;
    Ok(Some((before, h.status)))
}

/// A health check's verdict (only while the container runs).
pub fn set_health(conn: &Connection, id: &str, health: &Health) -> StoreResult<()> {
    conn.execute(
        "UPDATE containers SET health = ?2 WHERE id = ?1 AND state IN ('running', 'paused')",
        params![id, health_json(&Some(health.clone()))?],
    )?;
    Ok(())
}

/// Replace what the container was made from (`update`, and the one-time
/// upgrade of a record from an older wharf).
pub fn set_definition(conn: &Connection, id: &str, d: &Definition) -> StoreResult<()> {
    conn.execute(
        "UPDATE containers SET config = ?2, image_ref = ?3 WHERE id = ?1",
        params![id, definition_json(d)?, d.image_ref()],
    )?;
    Ok(())
}

/// `docker rename`: a taken name is a conflict.
pub fn rename(conn: &Connection, id: &str, name: &str) -> StoreResult<()> {
    if let Some(other) = by_name(conn, name)? {
        return Err(name_conflict(name, &other.id));
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

/// Containers whose record still needs the one-time upgrade from files.
pub fn pending_upgrades(conn: &Connection) -> StoreResult<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT id FROM container_upgrades")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Container `id`'s record is upgraded (or gone).
pub fn upgraded(conn: &Connection, id: &str) -> StoreResult<()> {
    conn.execute("DELETE FROM container_upgrades WHERE id = ?1", [id])?;
    Ok(())
}

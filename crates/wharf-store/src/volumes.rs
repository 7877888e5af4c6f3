//! Volume rows and which containers use which volume.
//!
//! A volume's data lives in `volumes/<name>/_data` ([`Store::volume_data`]).
//! The row is inserted after the directory exists and deleted before the
//! directory is discarded, so a row always points at a real directory.
//! `container_volumes` links a container to the volumes it mounts; the
//! link goes with the container row (ON DELETE CASCADE), and a volume that
//! still has links cannot be deleted (docker's "volume is in use").

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::{params, Connection, OptionalExtension, Row};

use wharf_model::{Event, EventType};

use crate::{Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRecord {
    pub name: String,
    /// Always `local` for now.
    pub driver: String,
    /// RFC 3339, seconds, UTC.
    pub created: String,
    pub labels: BTreeMap<String, String>,
    /// Driver options (`volume create -o`).
    pub options: BTreeMap<String, String>,
    /// Made for a container (`-v /dst`, an image's `VOLUME`), named by a
    /// random ID; `rm -v` and `run --rm` remove these.
    pub anonymous: bool,
}

const COLS: &str = "name, driver, created, labels, options, anonymous";

fn map_col(row: &Row, i: usize) -> rusqlite::Result<BTreeMap<String, String>> {
    let s: String = row.get(i)?;
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn from_row(r: &Row) -> rusqlite::Result<VolumeRecord> {
    Ok(VolumeRecord {
        name: r.get(0)?,
        driver: r.get(1)?,
        created: r.get(2)?,
        labels: map_col(r, 3)?,
        options: map_col(r, 4)?,
        anonymous: r.get::<_, i64>(5)? != 0,
    })
}

/// Insert a volume; false (and no change) if one of that name exists.
pub fn insert(conn: &Connection, v: &VolumeRecord) -> StoreResult<bool> {
    let json = |m: &BTreeMap<String, String>| serde_json::to_string(m).expect("maps serialize");
    let n = conn.execute(
        &format!("INSERT OR IGNORE INTO volumes ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            v.name,
            v.driver,
            v.created,
            json(&v.labels),
            json(&v.options),
            v.anonymous as i64
        ],
    )?;
    if n > 0 {
        crate::events::insert(conn, &volume_event(&v.name, &v.driver, "create"))?;
    }
    Ok(n > 0)
}

/// A volume's event (docker's attributes: its driver).
fn volume_event(name: &str, driver: &str, action: &str) -> Event {
    Event::new(EventType::Volume, action, name).with("driver", driver)
}

/// Container `id`'s volumes as `mount` (at start) or `unmount` (at
/// removal) events, as docker's daemon reports them.
pub fn mount_events(conn: &Connection, id: &str, action: &str) -> StoreResult<()> {
    // What docker reports comes from the container's `Mounts`.
    let mut st = conn.prepare_cached(
        "SELECT json_extract(m.value, '$.Name'), json_extract(m.value, '$.Destination'), \
         json_extract(m.value, '$.RW'), json_extract(m.value, '$.Propagation'), v.driver \
         FROM containers c, json_each(c.config, '$.Mounts') m \
         JOIN volumes v ON v.name = json_extract(m.value, '$.Name') \
         WHERE c.id = ?1 AND json_extract(m.value, '$.Type') = 'volume'",
    )?;
    let rows = st
        .query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (volume, destination, rw, propagation, driver) in rows {
        let mut e = volume_event(&volume, &driver, action).with("container", id);
        if action == "mount" {
            e = e
                .with("destination", destination)
                .with("propagation", propagation.unwrap_or_default())
                .with("read/write", rw.to_string());
        }
        crate::events::insert(conn, &e)?;
    }
    Ok(())
}

pub fn get(conn: &Connection, name: &str) -> StoreResult<Option<VolumeRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM volumes WHERE name = ?1"),
            [name],
            from_row,
        )
        .optional()?)
}

/// All volumes, by name.
pub fn list(conn: &Connection) -> StoreResult<Vec<VolumeRecord>> {
    let mut st = conn.prepare(&format!("SELECT {COLS} FROM volumes ORDER BY name"))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The containers that mount volume `name`, by ID.
pub fn users(conn: &Connection, name: &str) -> StoreResult<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT DISTINCT container_id FROM container_volumes WHERE volume = ?1 ORDER BY container_id",
    )?;
    let rows = st.query_map([name], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many containers use each volume that is in use.
pub fn use_counts(conn: &Connection) -> StoreResult<BTreeMap<String, u64>> {
    let mut st = conn.prepare(
        "SELECT volume, COUNT(DISTINCT container_id) FROM container_volumes GROUP BY volume",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Delete an unused volume's row. A volume some container uses is a
/// conflict, with docker's message.
pub fn delete(conn: &Connection, name: &str) -> StoreResult<()> {
    let users = users(conn, name)?;
    if !users.is_empty() {
        return Err(StoreError::Conflict(format!(
            "remove {name}: volume is in use - [{}]",
            users.join(", ")
        )));
    }
    let driver: Option<String> = conn
        .query_row("SELECT driver FROM volumes WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(driver) = driver else {
        return Err(StoreError::NotFound(format!("get {name}: no such volume")));
    };
    conn.execute("DELETE FROM volumes WHERE name = ?1", [name])?;
    crate::events::insert(conn, &volume_event(name, &driver, "destroy"))
}

/// Record that container `id` mounts `volume` at `destination`;
/// `anonymous`: without naming it (`-v /dst`, an image's `VOLUME`).
pub fn attach(
    conn: &Connection,
    id: &str,
    destination: &str,
    volume: &str,
    anonymous: bool,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO container_volumes (container_id, destination, volume, anonymous) VALUES (?1, ?2, ?3, ?4)",
        params![id, destination, volume, anonymous as i64],
    )?;
    Ok(())
}

/// The volumes container `id` mounts anonymously and no other container
/// uses: what `rm -v` removes along with it (docker keeps a volume the
/// container mounted by name, even an anonymous one).
pub fn anonymous_only_used_by(conn: &Connection, id: &str) -> StoreResult<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT DISTINCT cv.volume FROM container_volumes cv
         WHERE cv.container_id = ?1 AND cv.anonymous = 1
           AND NOT EXISTS (SELECT 1 FROM container_volumes o
                           WHERE o.volume = cv.volume AND o.container_id != ?1)
         ORDER BY cv.volume",
    )?;
    let rows = st.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How a container whose rows [`Store::remove_container_rows`] deletes
/// came to its end: what its events say before the `destroy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It had stopped earlier (`rm` of an exited container): `destroy` only.
    Removed,
    /// Its process just exited with this code on its own (`run --rm`): `die`.
    Died(i32),
    /// Its process just exited with this code after a user's stop that
    /// asked for its removal (`compose down`): `die`, `stop`.
    Stopped(i32),
}

impl Store {
    /// `volumes/<name>`: the volume's own directory (docker's layout).
    pub fn volume_dir(&self, name: &str) -> PathBuf {
        self.root().join("volumes").join(name)
    }

    /// `volumes/<name>/_data`: what containers mount.
    pub fn volume_data(&self, name: &str) -> PathBuf {
        self.volume_dir(name).join("_data")
    }

    /// Delete the rows of container `id` and, with `volumes`, of the
    /// anonymous volumes only it used (whose files then go too).
    /// `ending`: how its process just ended, when the removal comes with
    /// that end (`run --rm`, a stop for a removal): its `die` (and `stop`)
    /// go in the same transaction, before the `destroy`.
    pub fn remove_container_rows(
        &self,
        id: &str,
        volumes: bool,
        ending: Ending,
    ) -> StoreResult<()> {
        let doomed = self.write(|tx| {
            if let Ending::Died(code) | Ending::Stopped(code) = ending {
                crate::events::container_died(tx, id, code)?;
            }
            if let Ending::Stopped(_) = ending {
                crate::events::container(tx, id, "stop", &[])?;
            }
            let doomed = if volumes {
                anonymous_only_used_by(tx, id)?
            } else {
                Vec::new()
            };
            mount_events(tx, id, "unmount")?;
            crate::events::container(tx, id, "destroy", &[])?;
            crate::containers::delete(tx, id)?;
            for v in &doomed {
                delete(tx, v)?;
            }
            Ok(doomed)
        })?;
        for v in doomed {
            self.discard_volume(&v);
        }
        Ok(())
    }

    /// Delete a volume's files. Whatever is still mounted on its `_data`
    /// (a volume with driver options, e.g. a bind of a host directory) is
    /// detached first, so deleting never reaches through the mount.
    pub fn discard_volume(&self, name: &str) {
        let data = self.volume_data(name);
        match nix::mount::umount2(&data, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {
                self.discard_tree(&self.volume_dir(name))
            }
            Err(e) => {
                tracing::warn!(path = %data.display(), error = %e, "volume still mounted, not deleting its files")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(name: &str, anonymous: bool) -> VolumeRecord {
        VolumeRecord {
            name: name.into(),
            driver: "local".into(),
            created: "2024-01-01T00:00:00Z".into(),
            labels: [("k".to_string(), "v".to_string())].into(),
            options: BTreeMap::new(),
            anonymous,
        }
    }

    fn container(store: &Store, id: &str) {
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO images (id, size, added_at) VALUES ('sha256:00', 0, 'now')",
                    [],
                )
                .ok();
                tx.execute(
                    "INSERT INTO containers (id, name, image_id, image_ref, created, state, config)
                     VALUES (?1, ?1, 'sha256:00', 'x', 'now', 'created', '{}')",
                    [id],
                )?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn rows_links_and_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|tx| {
                assert!(insert(tx, &volume("data", false))?);
                assert!(!insert(tx, &volume("data", true))?, "names are unique");
                insert(tx, &volume("anon1", true))?;
                insert(tx, &volume("anon2", true))?;
                Ok(())
            })
            .unwrap();
        let got = store.read(|tx| get(tx, "data")).unwrap().unwrap();
        assert_eq!(got, volume("data", false));
        container(&store, "c1");
        container(&store, "c2");
        store
            .write(|tx| {
                attach(tx, "c1", "/d", "data", false)?;
                attach(tx, "c1", "/a", "anon1", true)?;
                attach(tx, "c1", "/b", "anon2", true)?;
                attach(tx, "c2", "/b", "anon2", true)?;
                Ok(())
            })
            .unwrap();
        let err = store.write(|tx| delete(tx, "data")).unwrap_err();
        assert_eq!(err.to_string(), "remove data: volume is in use - [c1]");
        assert_eq!(
            store.read(|tx| use_counts(tx)).unwrap(),
            [("anon1".into(), 1), ("anon2".into(), 2), ("data".into(), 1)].into()
        );
        assert_eq!(
            store.read(|tx| anonymous_only_used_by(tx, "c1")).unwrap(),
            ["anon1"]
        );

        std::fs::create_dir_all(store.volume_data("anon1")).unwrap();
        store
            .remove_container_rows("c1", true, Ending::Removed)
            .unwrap();
        assert!(!store.volume_dir("anon1").exists());
        let names: Vec<_> = store
            .read(|tx| list(tx))
            .unwrap()
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(names, ["anon2", "data"]);
        store.write(|tx| delete(tx, "data")).unwrap();
        assert_eq!(
            store
                .write(|tx| delete(tx, "data"))
                .unwrap_err()
                .to_string(),
            "get data: no such volume"
        );
    }
}

//! The events journal (`docker events`): one row per event, written by
//! whichever process acts (the CLI, a container's monitor) in the same
//! transaction as the change it reports, so an event is in the journal
//! exactly when its change is. Rows are numbered in commit order (`seq`);
//! readers follow the journal by that number. Only the last
//! [`KEEP`] events are kept (docker keeps 256, in memory).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use wharf_model::{Event, EventType};

use crate::{StoreError, StoreResult};

/// How many events the journal keeps.
pub const KEEP: i64 = 10_000;

/// Append `e`, dropping what falls out of the window.
pub fn insert(conn: &Connection, e: &Event) -> StoreResult<()> {
    let attributes = serde_json::to_string(&e.attributes)
        .map_err(|x| StoreError::Invalid(format!("event attributes: {x}")))?;
    let mut st = conn.prepare_cached(
        "INSERT INTO events (time_nano, type, action, actor_id, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    st.execute(params![
        e.time_nano,
        e.typ.as_str(),
        e.action,
        e.actor_id,
        attributes
    ])?;
    let seq = conn.last_insert_rowid();
    if seq > KEEP {
        conn.prepare_cached("DELETE FROM events WHERE seq <= ?1")?
            .execute([seq - KEEP])?;
    }
    Ok(())
}

/// A container's event, attributed from its row (labels, image, name),
/// with `extra` attributes (`exitCode`, `signal` ...). Nothing when the
/// row is gone.
pub fn container(
    conn: &Connection,
    id: &str,
    action: &str,
    extra: &[(&str, String)],
) -> StoreResult<()> {
    let mut e = Event::new(EventType::Container, action, id);
    for (k, v) in extra {
        e.attributes.insert(k.to_string(), v.clone());
    }
    container_event(conn, e)
}

/// [`container`] for an event made earlier (its time and attributes
/// kept; the row's name, image and labels added).
pub fn container_event(conn: &Connection, mut e: Event) -> StoreResult<()> {
    let row: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT name, image_ref, json_extract(config, '$.Config.Labels') FROM containers WHERE id = ?1",
        )?
        .query_row([&e.actor_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((name, image, labels)) = row else {
        return Ok(());
    };
    let labels: BTreeMap<String, String> = labels
        .as_deref()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let own = std::mem::take(&mut e.attributes);
    let base = Event::for_container(&e.actor_id, &name, &image, &labels, "");
    e.attributes = base.attributes;
    e.attributes.extend(own);
    insert(conn, &e)
}

/// A container started: its networks' `connect` and volumes' `mount`,
/// then its `start`, in docker's order.
pub fn container_started(conn: &Connection, id: &str) -> StoreResult<()> {
    crate::networks::endpoint_events(conn, id, None, "connect")?;
    crate::volumes::mount_events(conn, id, "mount")?;
    container(conn, id, "start", &[])
}

/// A container's process ended with `code`: its `die`, then its networks'
/// `disconnect`, in docker's order.
pub fn container_died(conn: &Connection, id: &str, code: i32) -> StoreResult<()> {
    container(conn, id, "die", &[("exitCode", code.to_string())])?;
    crate::networks::endpoint_events(conn, id, None, "disconnect")
}

/// The newest event's number (0 for none): where a live reader starts.
pub fn last_seq(conn: &Connection) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events")?
        .query_row([], |r| r.get(0))?)
}

/// Up to `limit` events after number `after`, oldest first, with their
/// numbers; only those at or after `since_nano` when given.
pub fn after(
    conn: &Connection,
    after: i64,
    since_nano: Option<i64>,
    limit: usize,
) -> StoreResult<Vec<(i64, Event)>> {
    let mut st = conn.prepare_cached(
        "SELECT seq, time_nano, type, action, actor_id, attributes FROM events \
         WHERE seq > ?1 AND time_nano >= ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = st.query_map(
        params![after, since_nano.unwrap_or(i64::MIN), limit as i64],
        |r| {
            let typ: String = r.get(2)?;
            let attributes: String = r.get(5)?;
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                typ,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                attributes,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, time_nano, typ, action, actor_id, attributes) = row?;
        // A row this wharf cannot read (a newer one's type) is skipped.
        let Ok(typ) = typ.parse::<EventType>() else {
            continue;
        };
        out.push((
            seq,
            Event {
                typ,
                action,
                actor_id,
                attributes: serde_json::from_str(&attributes).unwrap_or_default(),
                time_nano,
            },
        ));
    }
    Ok(out)
}

/// Wakes a reader that follows the journal when the database changes:
/// inotify on the store's root, where every commit writes the WAL
/// (`db.sqlite-wal`). Nothing polls the database while it is quiet.
pub struct Watch {
    fd: std::os::fd::OwnedFd,
}

impl Watch {
    /// Watch the store at `root`; `None` when inotify is unavailable (the
    /// caller then polls).
    pub fn new(root: &std::path::Path) -> Option<Watch> {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: inotify_init1 takes flags and returns a new descriptor.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return None;
        }
        // SAFETY: the kernel just returned this descriptor to us.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let path = std::ffi::CString::new(root.as_os_str().as_bytes()).ok()?;
        let mask = libc::IN_MODIFY | libc::IN_CREATE | libc::IN_MOVED_TO;
        // SAFETY: a valid descriptor and a NUL-terminated path.
        let wd = unsafe {
            libc::inotify_add_watch(std::os::fd::AsRawFd::as_raw_fd(&fd), path.as_ptr(), mask)
        };
        (wd >= 0).then_some(Watch { fd })
    }

    /// Wait until the database may have changed or `timeout` passes
    /// (`None`: no limit); true when woken by a change.
    pub fn wait(&self, timeout: Option<std::time::Duration>) -> bool {
        use std::os::fd::{AsFd, AsRawFd};
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        let mut fds = [nix::poll::PollFd::new(
            self.fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ready = matches!(
            nix::poll::poll(
                &mut fds,
                nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::NONE)
            ),
            Ok(n) if n > 0
        );
        // Drain: one wake-up for however many writes.
        let mut buf = [0u8; 4096];
        while nix::unistd::read(self.fd.as_raw_fd(), &mut buf).is_ok_and(|n| n > 0) {}
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        store
            .write(|c| {
                assert_eq!(last_seq(c).unwrap(), 0);
                let mut e = Event::new(EventType::Volume, "create", "v1").with("driver", "local");
                e.time_nano = 5;
                insert(c, &e).unwrap();
                let got = after(c, 0, None, 10).unwrap();
                assert_eq!(got, vec![(1, e.clone())]);
                assert!(after(c, 0, Some(6), 10).unwrap().is_empty());
                for _ in 0..KEEP + 5 {
                    insert(c, &e).unwrap();
                }
                let n: i64 = c
                    .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n, KEEP);
                assert_eq!(last_seq(c).unwrap(), KEEP + 6);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn container_events_carry_the_rows_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        store
            .write(|tx| {
                tx.execute_batch(
                    r#"INSERT INTO images (id, size, added_at) VALUES ('sha256:aa', 0, 'now');
                     INSERT INTO containers (id, name, image_id, image_ref, created, state, config)
                     VALUES ('c1', 'web', 'sha256:aa', 'busybox', 'now', 'created', '{"Config":{"Labels":{"app":"x"}}}');"#,
                )?;
                container(tx, "c1", "die", &[("exitCode", "3".into())])?;
                container(tx, "gone", "die", &[])?;
                let got = after(tx, 0, None, 10)?;
                assert_eq!(got.len(), 1);
                let e = &got[0].1;
                assert_eq!((e.action.as_str(), e.actor_id.as_str()), ("die", "c1"));
                let attrs: Vec<_> = e.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                assert_eq!(attrs, ["app=x", "exitCode=3", "image=busybox", "name=web"]);
                Ok(())
            })
            .unwrap();
    }
}

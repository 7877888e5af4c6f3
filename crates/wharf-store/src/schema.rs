//! The SQLite schema and its migrations.

use rusqlite::Connection;

use crate::StoreResult;

/// Each entry migrates from version i to i+1; `PRAGMA user_version` records
/// how many have run. Append, never edit.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE layers (
    diff_id     TEXT PRIMARY KEY,   -- sha256 of the uncompressed tar
    size        INTEGER NOT NULL,   -- bytes of regular files in the tree
    blob        TEXT NOT NULL,      -- digest of the stored (maybe compressed) tar
    compression TEXT NOT NULL,      -- none | gzip | zstd
    blob_size   INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE images (
    id            TEXT PRIMARY KEY, -- sha256 of the config blob
    size          INTEGER NOT NULL, -- sum of its layers' sizes
    created       TEXT,             -- from the config
    added_at      TEXT NOT NULL,
    last_tag_time TEXT,
    parent        TEXT              -- local parent image (commit/build), if any
);
CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    diff_id  TEXT NOT NULL REFERENCES layers(diff_id),
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX image_layers_by_layer ON image_layers(diff_id);
CREATE TABLE tags (
    name       TEXT PRIMARY KEY,    -- fully qualified: docker.io/library/busybox:latest
    image_id   TEXT NOT NULL REFERENCES images(id),
    created_at TEXT NOT NULL
);
CREATE INDEX tags_by_image ON tags(image_id);
CREATE TABLE repo_digests (
    name     TEXT NOT NULL,         -- docker.io/library/busybox@sha256:...
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    PRIMARY KEY (name)
);
"#,
    r#"
CREATE TABLE containers (
    id          TEXT PRIMARY KEY,   -- 64 hex digits
    name        TEXT NOT NULL UNIQUE,
    image_id    TEXT NOT NULL REFERENCES images(id),
    image_ref   TEXT NOT NULL,      -- what the user asked for (docker's Config.Image)
    created     TEXT NOT NULL,
    state       TEXT NOT NULL,      -- created | running | exited | dead
    pid         INTEGER,            -- container init, on the host
    monitor_pid INTEGER,
    exit_code   INTEGER,
    started_at  TEXT,
    finished_at TEXT,
    config      TEXT NOT NULL       -- the engine's JSON record of the run options
);
CREATE INDEX containers_by_image ON containers(image_id);
"#,
    r#"
ALTER TABLE containers ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
CREATE TABLE build_cache (
    key       TEXT PRIMARY KEY,     -- sha256 of a build step's cache key
    diff_id   TEXT REFERENCES layers(diff_id), -- the layer the step made
    created   TEXT NOT NULL,        -- when the step ran (its history time)
    last_used TEXT NOT NULL
);
CREATE INDEX build_cache_by_layer ON build_cache(diff_id);
CREATE TABLE build_file_hashes (
    path     TEXT PRIMARY KEY,      -- absolute path of a context file
    ino      INTEGER NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest   TEXT NOT NULL          -- sha256 of its content
);
"#,
    // Volumes (self-contained: only refers to containers).
    r#"
CREATE TABLE volumes (
    name      TEXT PRIMARY KEY,     -- [a-zA-Z0-9][a-zA-Z0-9_.-]+, or 64 hex digits when anonymous
    driver    TEXT NOT NULL,        -- local
    created   TEXT NOT NULL,
    labels    TEXT NOT NULL,        -- JSON object
    options   TEXT NOT NULL,        -- JSON object (driver options, -o)
    anonymous INTEGER NOT NULL
);
CREATE TABLE container_volumes (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    destination  TEXT NOT NULL,
    volume       TEXT NOT NULL REFERENCES volumes(name),
    anonymous    INTEGER NOT NULL,  -- mounted without naming it (-v /dst, VOLUME): rm -v removes it
    PRIMARY KEY (container_id, destination)
);
CREATE INDEX container_volumes_by_volume ON container_volumes(volume);
"#,
    r#"
CREATE TABLE networks (
    id       TEXT PRIMARY KEY,      -- 64 hex digits
    name     TEXT NOT NULL UNIQUE,
    driver   TEXT NOT NULL,         -- bridge | host | null
    created  TEXT NOT NULL,
    subnet   TEXT,                  -- 172.18.0.0/16 (bridge networks)
    gateway  TEXT,
    ip_range TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    bridge   TEXT,                  -- the Linux bridge's name
    labels   TEXT NOT NULL DEFAULT '{}',
    options  TEXT NOT NULL DEFAULT '{}'
);
-- A container's membership of a network; ip/mac are set while it runs.
CREATE TABLE endpoints (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    network_id   TEXT NOT NULL REFERENCES networks(id),
    seq          INTEGER NOT NULL,  -- attach order: the first gives the default route
    aliases      TEXT NOT NULL DEFAULT '[]',
    ip_requested TEXT,
    ip           TEXT,
    mac          TEXT,
    PRIMARY KEY (container_id, network_id)
);
CREATE INDEX endpoints_by_network ON endpoints(network_id);
-- Host ports published by running containers.
CREATE TABLE ports (
    container_id   TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    proto          TEXT NOT NULL,   -- tcp | udp
    container_port INTEGER NOT NULL,
    host_ip        TEXT NOT NULL,   -- 0.0.0.0 = every address
    host_port      INTEGER NOT NULL,
    PRIMARY KEY (container_id, proto, container_port, host_ip, host_port)
);
"#,
    r#"
-- Registry blobs known to hold a layer's tar (docker's distribution
-- metadata): what a pull saw in a manifest, what a push compressed.
CREATE TABLE layer_blobs (
    diff_id    TEXT NOT NULL,
    blob       TEXT NOT NULL,       -- digest of the (compressed) blob
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    stored     INTEGER NOT NULL,    -- 1: blobs/sha256/<blob> is kept for this layer
    PRIMARY KEY (diff_id, blob)
);
CREATE INDEX layer_blobs_by_blob ON layer_blobs(blob);
-- Repositories a blob is known to exist in, for cross-repository mounts.
CREATE TABLE blob_sources (
    blob       TEXT NOT NULL,
    repository TEXT NOT NULL,       -- registry host and path: 127.0.0.1:5000/lib/node
    PRIMARY KEY (blob, repository)
);
-- Manifests (and indexes) pulled or pushed, kept in blobs/ so a push of a
-- pulled image keeps its digest.
CREATE TABLE manifests (
    digest     TEXT PRIMARY KEY,
    image_id   TEXT NOT NULL,
    media_type TEXT NOT NULL
);
CREATE INDEX manifests_by_image ON manifests(image_id);
"#,
    r#"
-- The typed container model: the status is one of docker's seven
-- (a paused container is `paused`, no longer a flag beside `running`),
-- with the restart count, the last start error, OOM and health beside it.
ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE containers ADD COLUMN error TEXT NOT NULL DEFAULT '';
ALTER TABLE containers ADD COLUMN oom_killed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE containers ADD COLUMN health TEXT;
UPDATE containers SET state = 'paused' WHERE paused = 1 AND state = 'running';
ALTER TABLE containers DROP COLUMN paused;
-- Rows made before this kept part of their definition in files next to
-- the container (monitor.json, network.json); the engine folds those in
-- and drops the row from this list.
CREATE TABLE container_upgrades (id TEXT PRIMARY KEY);
INSERT INTO container_upgrades SELECT id FROM containers;
"#,
    r#"
-- Docker's events (`docker events`), numbered in commit order; written in
-- the transaction of the change they report, the last 10000 kept.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    time_nano  INTEGER NOT NULL,    -- nanoseconds since the Unix epoch
    type       TEXT NOT NULL,       -- container | image | network | volume
    action     TEXT NOT NULL,       -- create, die, health_status: healthy ...
    actor_id   TEXT NOT NULL,
    attributes TEXT NOT NULL        -- JSON object
);
CREATE INDEX events_by_time ON events(time_nano);
"#,
    r#"
-- IPv6 dual stack: a network's IPv6 subnet (kept even when --ipv6 is off,
-- as docker shows it) and gateway; an endpoint's --ip6 and the IPv6
-- address it has while its container runs.
ALTER TABLE networks ADD COLUMN ipv6 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE networks ADD COLUMN subnet6 TEXT;
ALTER TABLE networks ADD COLUMN gateway6 TEXT;
ALTER TABLE endpoints ADD COLUMN ip6_requested TEXT;
ALTER TABLE endpoints ADD COLUMN ip6 TEXT;
"#,
    r#"
-- A build step's address on the default bridge (RUN --network=default):
-- held while the step runs by the build process `owner`, whose death
-- (a killed build) makes the row, its namespace and veth a leftover for
-- the next step's setup or `system check --repair` to release.
CREATE TABLE step_endpoints (
    step_id    TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks(id),
    ip         TEXT NOT NULL,
    mac        TEXT NOT NULL,
    netns      TEXT NOT NULL,   -- the step's bind-mounted namespace
    owner      INTEGER NOT NULL -- PID of the build
);
"#,
];

/// Wait for a busy database (another process's write) in steps of 50 µs
/// doubling to 5 ms, for about a minute in all. SQLite's own timeout
/// handler sleeps 1, 2, 5, 10 ms...: a wait for another process's commit
/// (~0.2 ms) cost a millisecond or more.
fn busy(tries: i32) -> bool {
    if tries >= 12_000 {
        return false;
    }
    let micros = (50u64 << tries.clamp(0, 7)).min(5_000);
    std::thread::sleep(std::time::Duration::from_micros(micros));
    true
}

pub(crate) fn open(path: &std::path::Path, create: bool) -> StoreResult<Connection> {
    let mut flags = rusqlite::OpenFlags::default();
    if !create {
        flags.remove(rusqlite::OpenFlags::SQLITE_OPEN_CREATE);
    }
    let mut conn = Connection::open_with_flags(path, flags)?;
    conn.busy_handler(Some(busy))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The last connection to close would checkpoint the WAL with three
    // fsyncs: every short `wharf` command, on a busy disk, paid for that.
    // SQLite's automatic checkpoints do the work.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&conn)?;
    Ok(conn)
}

fn migrate(conn: &Connection) -> StoreResult<()> {
    let version = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if version >= MIGRATIONS.len() {
        return Ok(());
    }
    // IMMEDIATE: two processes opening a fresh store must not both migrate.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        let version =
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            conn.execute_batch(sql)?;
            conn.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(())
}

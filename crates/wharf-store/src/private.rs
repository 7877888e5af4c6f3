//! Who may read the store: root only.
//!
//! The store holds secrets (`-e` values in `db.sqlite`, each container's
//! `config.json` and a build step's `step.json`; whatever containers print in their
//! logs) and every container's files. Like docker's `/var/lib/docker`, the
//! root is mode 0710 (other users cannot even look up a name in it), and
//! the files that hold secrets are 0600 in case a group is ever given
//! more. Containers do not need more: their processes reach their root
//! filesystem, volumes and bind-mounted files through mounts, never
//! through the store's path.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::{StoreError, StoreResult};

/// The store root's mode (docker's `/var/lib/docker`).
pub const ROOT_MODE: u32 = 0o710;

/// The mode of files that hold secrets.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// The files of a container directory that hold secrets (the env, the
/// output), by name or `-json.log` suffix.
const CONTAINER_SECRETS: &[&str] = &["monitor.json", "step.json", "config.json", "monitor.log"];

/// The database and its journal files.
const DB_FILES: &[&str] = &["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"];

/// Creates (or truncates) `path` with mode 0600 and writes `bytes`. A file
/// that already existed is narrowed to 0600 too.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)?;
    if f.metadata()?.permissions().mode() & 0o777 != PRIVATE_FILE_MODE {
        f.set_permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
    }
    f.write_all(bytes)
}

/// Makes `root` (with its parents) if it is missing, mode [`ROOT_MODE`].
pub(crate) fn create_root(root: &Path) -> StoreResult<()> {
    if root.is_dir() {
        return Ok(());
    }
    if let Some(parent) = root.parent() {
        fs::create_dir_all(parent).map_err(|e| StoreError::io("creating", parent, e))?;
    }
    match fs::DirBuilder::new().mode(ROOT_MODE).create(root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(StoreError::io("creating", root, e)),
    }
    // The umask may have taken bits away; set exactly.
    fs::set_permissions(root, fs::Permissions::from_mode(ROOT_MODE))
        .map_err(|e| StoreError::io("setting the mode of", root, e))
}

/// Creates the database file, empty, mode 0600, if it is missing: SQLite
/// would make it 0644, and gives its `-wal` and `-shm` files the
/// database's mode.
pub(crate) fn create_db_file(path: &Path) -> StoreResult<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io("creating", path, e)),
    }
}

/// If `root` lets group or others do more than [`ROOT_MODE`] allows (a
/// store made before wharf restricted it, or changed by hand), narrows it
/// and the files that hold secrets, and returns the old mode. One `stat`
/// when all is well.
pub(crate) fn narrow_existing(root: &Path) -> StoreResult<Option<u32>> {
    let mode = match fs::metadata(root) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) => return Err(StoreError::io("reading the mode of", root, e)),
    };
    if mode & 0o077 & !ROOT_MODE == 0 {
        return Ok(None);
    }
    fs::set_permissions(root, fs::Permissions::from_mode(ROOT_MODE))
        .map_err(|e| StoreError::io("setting the mode of", root, e))?;
    // The root's mode alone keeps other users out; the files follow for
    // the sake of the group. A file that vanished meanwhile is no concern.
    let private = |p: &Path| {
        if let Err(e) = fs::set_permissions(p, fs::Permissions::from_mode(PRIVATE_FILE_MODE)) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %p.display(), error = %e, "could not make private");
            }
        }
    };
    for f in DB_FILES {
        private(&root.join(f));
    }
    if let Ok(dirs) = fs::read_dir(root.join("containers")) {
        for dir in dirs.flatten() {
            let Ok(files) = fs::read_dir(dir.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name();
                let name = name.to_string_lossy();
                if CONTAINER_SECRETS.contains(&name.as_ref()) || name.ends_with("-json.log") {
                    private(&f.path());
                }
            }
        }
    }
    Ok(Some(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn new_roots_and_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/root");
        create_root(&root).unwrap();
        assert_eq!(mode(&root), ROOT_MODE);
        assert_eq!(narrow_existing(&root).unwrap(), None);
        let f = root.join("secret");
        fs::write(&f, "old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&f, b"new").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(fs::read(&f).unwrap(), b"new");
    }

    #[test]
    fn an_open_root_is_narrowed_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("containers/abc")).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        for f in [
            "db.sqlite",
            "containers/abc/monitor.json",
            "containers/abc/abc-json.log",
            "containers/abc/hosts",
        ] {
            fs::write(root.join(f), "x").unwrap();
            fs::set_permissions(root.join(f), fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(narrow_existing(&root).unwrap(), Some(0o755));
        assert_eq!(mode(&root), ROOT_MODE);
        assert_eq!(mode(&root.join("db.sqlite")), 0o600);
        assert_eq!(mode(&root.join("containers/abc/monitor.json")), 0o600);
        assert_eq!(mode(&root.join("containers/abc/abc-json.log")), 0o600);
        // Bind-mounted into the container, read by its users: unchanged.
        assert_eq!(mode(&root.join("containers/abc/hosts")), 0o644);
        assert_eq!(narrow_existing(&root).unwrap(), None);
        // Narrower than ROOT_MODE is the owner's choice: kept.
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(narrow_existing(&root).unwrap(), None);
        assert_eq!(mode(&root), 0o700);
    }
}

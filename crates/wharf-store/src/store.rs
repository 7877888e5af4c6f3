//! The store handle: paths, blobs, transactions and locks.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use wharf_oci::Digest;

use crate::lock::StoreLock;
use crate::paths::{remove_any, sweep_dead, temp_name};
use crate::private;
use crate::{schema, StoreError, StoreResult};

pub struct Store {
    root: PathBuf,
    db: Mutex<Connection>,
    /// The root's mode before `open` narrowed it (see [`Store::narrowed_from`]).
    narrowed_from: Option<u32>,
}

const DIRS: &[&str] = &[
    "blobs/sha256",
    "layers",
    "volumes",
    "tmp",
    "trash",
    "ingest",
];

impl Store {
    /// Open (creating if needed) the store at `root`. A new root is mode
    /// 0710 and its database 0600; an existing root that lets other users
    /// in is narrowed to that (see [`Store::narrowed_from`]).
    pub fn open(root: &Path) -> StoreResult<Store> {
        private::create_root(root)?;
        let narrowed_from = private::narrow_existing(root)?;
        for d in DIRS {
            let p = root.join(d);
            fs::create_dir_all(&p).map_err(|e| StoreError::io("creating", &p, e))?;
        }
        let db_path = root.join("db.sqlite");
        private::create_db_file(&db_path)?;
        let db = schema::open(&db_path, true)?;
        Ok(Store {
            root: root.to_path_buf(),
            db: Mutex::new(db),
            narrowed_from,
        })
    }

    /// The mode the root had when this `open` found it readable by other
    /// users and narrowed it (a store made by an older wharf): the caller
    /// tells the user, once, since the next open finds it narrow.
    pub fn narrowed_from(&self) -> Option<u32> {
        self.narrowed_from
    }

    /// Open the store at `root` only if it exists, creating nothing.
    pub fn open_existing(root: &Path) -> StoreResult<Option<Store>> {
        let path = root.join("db.sqlite");
        if !path.exists() {
            return Ok(None);
        }
        let db = schema::open(&path, false)?;
        Ok(Some(Store {
            root: root.to_path_buf(),
            db: Mutex::new(db),
            narrowed_from: None,
        }))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    /// Where a download of blob `digest` collects its bytes until verified.
    pub fn ingest_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("ingest").join(digest.hex())
    }

    /// The unpacked tree of a layer (an overlay lower dir).
    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(diff_id.hex()).join("diff")
    }

    /// Docker's init layer, the containers' top lower dir (made by the
    /// runtime's `rootfs::ensure_init_layer`).
    pub fn init_layer_dir(&self) -> PathBuf {
        self.root.join("init")
    }

    /// This store's engine ID (`info`'s `ID`), in docker's form: twelve
    /// groups of four base32 characters. Made from random bytes the first
    /// time it is asked for and kept in `engine-id`.
    pub fn engine_id(&self) -> StoreResult<String> {
        let path = self.root.join("engine-id");
        if let Ok(id) = fs::read_to_string(&path) {
            return Ok(id.trim().to_string());
        }
        let mut bytes = [0u8; 30];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .map_err(|e| StoreError::io("reading", Path::new("/dev/urandom"), e))?;
        let id = engine_id_text(&bytes);
        let temp = self.temp_path("engine-id");
        fs::write(&temp, format!("{id}\n")).map_err(|e| StoreError::io("writing", &temp, e))?;
        // A link does not replace: the first writer's ID wins a race.
        let linked = fs::hard_link(&temp, &path);
        remove_any(&temp);
        match linked {
            Ok(()) => Ok(id),
            Err(_) => fs::read_to_string(&path)
                .map(|id| id.trim().to_string())
                .map_err(|e| StoreError::io("reading", &path, e)),
        }
    }

    /// A fresh path under `tmp/` for work in progress; nothing is created.
    pub fn temp_path(&self, what: &str) -> PathBuf {
        self.root.join("tmp").join(temp_name(what))
    }

    /// Whether `path`, inside an entry of `tmp/` or `trash/`, belongs to a
    /// process that still runs (false for any other path).
    pub fn owner_alive(&self, path: &Path) -> bool {
        ["tmp", "trash"].iter().any(|d| {
            path.strip_prefix(self.root.join(d))
                .ok()
                .and_then(|rel| rel.components().next())
                .is_some_and(|c| crate::paths::entry_alive(&c.as_os_str().to_string_lossy()))
        })
    }

    /// Remove what killed processes left in `tmp/` and `trash/`.
    pub fn sweep(&self) {
        sweep_dead(&self.root.join("tmp"));
        sweep_dead(&self.root.join("trash"));
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).exists()
    }

    /// Move a verified temp file into place as blob `digest`. If the blob
    /// already exists (same content by definition) the temp file is dropped.
    pub fn commit_blob(&self, temp: &Path, digest: &Digest) -> StoreResult<()> {
        let dest = self.blob_path(digest);
        if dest.exists() {
            remove_any(temp);
            return Ok(());
        }
        fs::rename(temp, &dest).map_err(|e| StoreError::io("storing blob", &dest, e))
    }

    /// Store a small blob (config, manifest) from memory.
    pub fn put_blob(&self, bytes: &[u8]) -> StoreResult<Digest> {
        let digest = Digest::of(bytes);
        if self.has_blob(&digest) {
            return Ok(digest);
        }
        let temp = self.temp_path("blob");
        let mut f = fs::File::create(&temp).map_err(|e| StoreError::io("creating", &temp, e))?;
        f.write_all(bytes)
            .map_err(|e| StoreError::io("writing", &temp, e))?;
        drop(f);
        self.commit_blob(&temp, &digest)?;
        Ok(digest)
    }

    pub fn read_blob(&self, digest: &Digest) -> StoreResult<Vec<u8>> {
        let p = self.blob_path(digest);
        fs::read(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::BlobNotFound(digest.clone()),
            _ => StoreError::io("reading blob", &p, e),
        })
    }

    pub fn open_blob(&self, digest: &Digest) -> StoreResult<fs::File> {
        let p = self.blob_path(digest);
        fs::File::open(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::BlobNotFound(digest.clone()),
            _ => StoreError::io("opening blob", &p, e),
        })
    }

    /// Move a finished temp tree into place as the tree of layer `diff_id`.
    /// Returns false (and drops the temp tree) if the layer is already there.
    /// Call with the commit lock held.
    pub fn commit_layer_dir(&self, temp_diff: &Path, diff_id: &Digest) -> StoreResult<bool> {
        let dest = self.layer_dir(diff_id);
        let parent = dest.parent().expect("layer dir has a parent");
        if dest.exists() {
            remove_any(temp_diff.parent().unwrap_or(temp_diff));
            return Ok(false);
        }
        let temp_parent = temp_diff.parent().expect("temp layer dir has a parent");
        match fs::rename(temp_parent, parent) {
            Ok(()) => Ok(true),
            // A half-finished rename cannot exist, so a present target is complete.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) => {
                remove_any(temp_parent);
                Ok(false)
            }
            Err(e) => Err(StoreError::io("storing layer", parent, e)),
        }
    }

    /// Move a tree to `trash/` (atomic, so it vanishes at once) and delete it.
    pub fn discard_tree(&self, path: &Path) {
        self.trash_tree(path).delete();
    }

    /// Move a tree to `trash/`: gone from its place at once; the caller
    /// deletes it when it suits (a process that dies first leaves it to
    /// the next sweep).
    pub fn trash_tree(&self, path: &Path) -> Trashed {
        let trash = self.root.join("trash").join(temp_name("del"));
        match fs::rename(path, &trash) {
            Ok(()) => Trashed(Some(trash)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Trashed(None),
            Err(_) => Trashed(Some(path.to_path_buf())),
        }
    }

    /// Run `f` in a write transaction (BEGIN IMMEDIATE: writers queue up
    /// instead of failing with SQLITE_BUSY halfway).
    pub fn write<T>(&self, f: impl FnOnce(&Transaction) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Run `f` against a consistent snapshot of the metadata.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }

    /// Hand the connection's page cache back (a long-lived, mostly idle
    /// process such as a container's monitor).
    pub fn release_memory(&self) {
        let conn = self.db.lock().unwrap_or_else(|p| p.into_inner());
        conn.flush_prepared_statement_cache();
        let _ = conn.release_memory();
    }

    /// Held while moving new objects into place and referencing them.
    pub fn commit_lock(&self) -> StoreResult<StoreLock> {
        StoreLock::acquire(&self.root.join("gc.lock"), false)
    }

    /// Held by garbage collection while it decides what to delete and moves it away.
    pub fn gc_lock(&self) -> StoreResult<StoreLock> {
        StoreLock::acquire(&self.root.join("gc.lock"), true)
    }
}

/// A tree moved out of the store's view by [`Store::trash_tree`].
#[must_use = "the tree is only deleted by `delete`"]
pub struct Trashed(Option<PathBuf>);

impl Trashed {
    pub fn delete(self) {
        if let Some(p) = self.0 {
            remove_any(&p);
        }
    }

    /// [`Trashed::delete`] by a detached `exe --root ROOT trash-delete
    /// NAME` ([`delete_trash_entry`]), for a command whose user waits for
    /// nothing more: the unlinks of a container's files take ~3 ms on
    /// this ext4 (each file or directory with a data block costs
    /// 0.2-0.4 ms to free), the spawn ~0.5 ms. Whoever looks for this
    /// root's processes right after finds the helper (the tests'
    /// `settled`). Deleted here when the helper cannot be started, or
    /// the tree is not in the trash (its move there failed).
    pub fn delete_detached(self, exe: &Path) {
        let Some(p) = &self.0 else { return };
        // Space freed is space a user may need right after (`docker rm`
        // frees it before it returns): only a small tree goes in the
        // background.
        if !crate::paths::smaller_than(p, DETACHED_ENTRIES, DETACHED_BYTES) {
            return self.delete();
        }
        let entry = p
            .parent()
            .filter(|d| d.file_name().is_some_and(|n| n == "trash"))
            .and_then(|d| Some((d.parent()?, p.file_name()?.to_str()?)));
        if let Some((root, name)) = entry {
            let root = root.to_string_lossy();
            if crate::detached::spawn(exe, &["--root", &root, "trash-delete", name]) {
                return;
            }
        }
        self.delete();
    }
}

/// The largest tree [`Trashed::delete_detached`] leaves to its helper:
/// a container that wrote little (a short-lived one's upper dir, its log,
/// its config files are a dozen entries and a few KiB).
const DETACHED_ENTRIES: usize = 256;
const DETACHED_BYTES: u64 = 1 << 20;

/// The hidden `trash-delete NAME`: delete the entry `NAME` of the trash
/// of the store at `root` (see [`Trashed::delete_detached`]). It is
/// first renamed after this process, so that a sweep of dead processes'
/// entries (its mover has exited) leaves it to us. Whether `name` was an
/// entry's name (a plain file name).
pub fn delete_trash_entry(root: &Path, name: &str) -> bool {
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains('/');
    if !plain {
        return false;
    }
    let trash = root.join("trash");
    let mine = trash.join(temp_name("del"));
    if fs::rename(trash.join(name), &mine).is_ok() {
        remove_any(&mine);
    }
    true
}

/// Docker's key ID form (libtrust): RFC 4648 base32 of 30 bytes, in
/// twelve colon-separated groups of four.
fn engine_id_text(bytes: &[u8; 30]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut chars = String::with_capacity(48);
    for chunk in bytes.chunks(5) {
        let n = chunk.iter().fold(0u64, |n, b| n << 8 | *b as u64);
        for i in (0..8).rev() {
            chars.push(ALPHABET[(n >> (i * 5)) as usize & 31] as char);
        }
    }
    chars
        .as_bytes()
        .chunks(4)
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod engine_id_tests {
    use super::*;

    #[test]
    fn engine_ids_look_like_dockers_and_stay() {
        assert_eq!(
            engine_id_text(&[0; 30]),
            "AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA"
        );
        let t = tempfile::tempdir().unwrap();
        let store = Store::open(t.path()).unwrap();
        let id = store.engine_id().unwrap();
        assert_eq!(id.len(), 59);
        assert!(id.split(':').all(|g| g.len() == 4));
        assert_eq!(store.engine_id().unwrap(), id);
    }
}

#[cfg(test)]
mod trash_tests {
    use super::*;

    #[test]
    fn a_trash_entry_is_deleted_by_its_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tree = dir.path().join("containers").join("c1");
        fs::create_dir_all(tree.join("upper/etc")).unwrap();
        fs::write(tree.join("upper/etc/hosts"), b"x").unwrap();
        let Trashed(Some(entry)) = store.trash_tree(&tree) else {
            panic!("not moved to the trash");
        };
        assert!(!tree.exists());
        // A path is not a name: nothing outside the trash can be named.
        for bad in ["", ".", "..", "../containers", "a/b"] {
            assert!(!delete_trash_entry(dir.path(), bad), "{bad:?}");
        }
        let name = entry.file_name().unwrap().to_str().unwrap();
        assert!(delete_trash_entry(dir.path(), name));
        assert_eq!(fs::read_dir(dir.path().join("trash")).unwrap().count(), 0);
        // Already gone (a sweep took it): nothing to do, no error.
        assert!(delete_trash_entry(dir.path(), name));
    }
}

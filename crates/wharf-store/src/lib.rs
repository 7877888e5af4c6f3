//! wharf-store: everything wharf keeps on disk under its root
//! (`/var/lib/wharf`, or `--root` / `WHARF_ROOT`).
//!
//! ```text
//! db.sqlite                 metadata (WAL): images, tags, layers, ...
//! blobs/sha256/<hex>        content-addressed blobs: configs, layer tars, manifests
//! layers/<diff-id hex>/diff unpacked layer trees, overlay lower dirs
//! volumes/<name>/_data      volumes' data
//! ingest/<blob hex>         partial downloads, resumed by the next pull
//! tmp/                      work in progress, named after the writing process
//! trash/                    trees being deleted
//! ```
//!
//! The root is mode 0710 and files holding secrets 0600 ([`private`]):
//! no other user reads `-e` values, logs or container files.
//!
//! Crash safety comes from one rule: nothing appears under its final name
//! until it is complete. Blobs and layer trees are written under `tmp/` and
//! renamed into place; database rows that point at them are inserted after
//! the rename, in one transaction. A process killed midway leaves only
//! `tmp/` entries named after its (dead) PID, which the next writer sweeps.
//!
//! Layer trees are keyed by diff ID rather than Docker's chain ID: an overlay
//! lower dir does not depend on the layers beneath it, so one tree serves
//! every image that contains that layer, and a layer can be unpacked before
//! its position in an image is known (streaming `load`).
//!
//! Concurrency: SQLite serializes metadata; `commit_lock` (shared) and
//! `gc_lock` (exclusive) keep garbage collection from deleting a layer or
//! blob that another process is in the middle of referencing.

pub mod build_cache;
pub mod check;
pub mod containers;
pub mod detached;
pub mod distribution;
mod error;
pub mod events;
mod gc;
pub mod images;
pub mod layers;
mod lock;
pub mod networks;
mod paths;
pub mod private;
mod schema;
mod store;
pub mod volumes;

pub use check::{Finding, Severity};
pub use error::{out_of_space, StoreError, StoreResult};
pub use gc::Garbage;
pub use images::{ImageRecord, TagRecord};
pub use layers::LayerRecord;
pub use lock::StoreLock;
pub use paths::{mounts_under, pid_alive};
pub use store::{delete_trash_entry, Store, Trashed};
pub use volumes::{Ending, VolumeRecord};

pub use rusqlite;

//! wharf-engine: the one facade the CLI (and later the API server) calls.
//!
//! [`Engine`] owns the store and exposes every docker verb as a method that
//! takes plain arguments and returns plain data (IDs, summaries, docker-shaped
//! JSON for `inspect`). Presentation — tables, templates, exit codes — is the
//! caller's business; the error kinds tell it which exit code applies.

mod error;
mod glob;
pub mod images;
pub mod system;

use std::path::{Path, PathBuf};

pub use error::{EngineError, EngineResult};
pub use wharf_oci::{Digest, ErrorKind, Reference};
use wharf_store::Store;

/// Where wharf keeps its state unless `--root`/`WHARF_ROOT` says otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/wharf";

pub struct Engine {
    store: Store,
    root: PathBuf,
}

impl Engine {
    pub fn open(root: &Path) -> EngineResult<Engine> {
        let store = Store::open(root)?;
        Ok(Engine {
            store,
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

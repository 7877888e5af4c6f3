//! wharf-engine: the one facade the CLI (and later the API server) calls.
//!
//! [`Engine`] owns the store and exposes every docker verb as a method that
//! takes plain arguments and returns plain data (IDs, summaries, docker-shaped
//! JSON for `inspect`). Presentation — tables, templates, exit codes — is the
//! caller's business; the error kinds tell it which exit code applies.

mod build;
mod check;
pub mod containers;
mod error;
pub mod events;
pub mod images;
pub mod networks;
pub mod registry;
pub mod system;
pub mod volumes;

use std::path::{Path, PathBuf};

pub use error::{EngineError, EngineResult, FullDisk};
pub use wharf_network::files::DnsOptions;
pub use wharf_oci::{Digest, ErrorKind, Reference};
pub use wharf_store::private::PRIVATE_FILE_MODE;
use wharf_store::Store;

/// Where wharf keeps its state unless `--root`/`WHARF_ROOT` says otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/wharf";

pub struct Engine {
    store: Store,
    root: PathBuf,
    /// The program that runs `monitor` (this binary, normally).
    monitor_exe: PathBuf,
}

impl Engine {
    /// Opens (creating if needed) the store at `root`; see
    /// [`Engine::narrowed_from`].
    pub fn open(root: &Path) -> EngineResult<Engine> {
        Engine::with_store(root, Store::open(root)?)
    }

    /// The mode the store root had when `open` found other users could
    /// read it and narrowed it to 0710 (a root made by an older wharf).
    pub fn narrowed_from(&self) -> Option<u32> {
        self.store.narrowed_from()
    }

    /// The engine of an existing store, creating nothing (`None`: no store
    /// at `root`).
    pub fn open_existing(root: &Path) -> EngineResult<Option<Engine>> {
        Store::open_existing(root)?
            .map(|s| Engine::with_store(root, s))
            .transpose()
    }

    fn with_store(root: &Path, store: Store) -> EngineResult<Engine> {
        let engine = Engine {
            store,
            root: root.to_path_buf(),
            monitor_exe: containers::start::monitor_exe()?,
        };
        engine.upgrade_legacy_containers()?;
        // One stat once it exists: every container's root needs it.
        let store = &engine.store;
        wharf_runtime::rootfs::ensure_init_layer(&store.init_layer_dir(), &store.temp_path("init"))
            .map_err(|e| EngineError::io("making the init layer", std::io::Error::other(e)))?;
        Ok(engine)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

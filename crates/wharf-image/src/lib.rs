//! wharf-image: images as files and streams.
//!
//! - [`layer`]: apply a layer tar to a directory (OCI whiteouts become
//!   overlayfs whiteouts) and write a directory back as a layer tar,
//! - [`ingest`]: stream a (maybe compressed) layer into the store in one
//!   pass: the blob is kept, hashed, and unpacked as it arrives,
//! - [`commit`]: make a new image visible (layers, config, tags) atomically,
//! - [`import`]: `docker import` — a rootfs tar plus `--change` lines,
//! - [`archive`]: `docker save`/`docker load` — docker-archive and OCI
//!   image layout tars.
//!
//! Nothing here knows about the CLI; the engine calls these.

pub mod archive;
pub mod changes;
pub mod commit;
pub mod compress;
mod error;
pub mod fscopy;
pub mod import;
pub mod ingest;
pub mod layer;
pub mod manifest;
pub mod snapshot;

pub use error::{ImageError, ImageResult};

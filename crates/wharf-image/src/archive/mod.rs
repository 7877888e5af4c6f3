//! `save` and `load`: images as one tar.
//!
//! wharf writes the layout docker 25+ writes: an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/...`) plus docker's
//! `manifest.json`, so the same file loads into old and new docker, skopeo
//! and umoci. It reads docker-archives (docker <25 `save`: `<id>/layer.tar`
//! and `manifest.json`) and OCI layout archives (`index.json` only) too.

mod load;
mod save;
mod tar_out;
mod unpack;

pub use load::{load, Loaded};
pub use save::{save, write_archive, write_oci_index, SaveItem};
pub use unpack::{looks_like_archive, unpack_tree};

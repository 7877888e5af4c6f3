//! wharf-kube: Kubernetes YAML both ways, as podman's `kube generate`,
//! `kube play` and `kube down`.
//!
//! [`objects`] holds the typed Kubernetes objects wharf reads and writes;
//! [`manifest`] parses a multi-document file into them (every error names
//! the object and the field) and renders them back. [`source`] reads
//! containers or a Compose project into neutral [`generate::Group`]s,
//! which [`generate::manifests`] turns into objects. [`play`] runs a file's
//! objects on the Compose runtime of `wharf-compose`, and removes them.

pub mod error;
pub mod generate;
pub mod manifest;
pub mod objects;
pub mod play;
pub mod source;

pub use error::{KubeError, KubeResult};

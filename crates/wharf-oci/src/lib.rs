//! wharf-oci: the vocabulary every other wharf crate speaks.
//!
//! - [`Digest`] and hashing readers/writers (sha256, the only algorithm
//!   Docker and OCI registries use in practice),
//! - [`Reference`]: image names parsed and normalized exactly as Docker's
//!   `distribution/reference` does (`busybox` = `docker.io/library/busybox:latest`),
//! - [`ImageConfig`]: the image config JSON in Docker's shape (a superset of
//!   the OCI image config: Healthcheck, OnBuild, Shell ...), kept separate
//!   from oci-spec's type because those fields matter to `docker inspect`,
//! - [`media_types`], and re-exports of oci-spec's manifest/index types,
//! - [`ErrorKind`], the classification every crate's error maps to (the CLI
//!   turns it into exit codes, the API into HTTP statuses).

pub mod config;
pub mod digest;
pub mod error;
pub mod media_types;
pub mod platform;
pub mod reference;

pub use config::{ContainerConfig, HealthConfig, History, ImageConfig, RootFs};
pub use digest::{Digest, DigestError, HashingReader, HashingWriter, Sha256};
pub use error::{is_out_of_space, ErrorKind, OsError, NO_SPACE};
pub use oci_spec::image as oci;
pub use reference::{Reference, ReferenceError};

//! wharf-registry: talking to OCI/Docker registries (distribution API v2)
//! the way docker does.
//!
//! - [`options`]: insecure registries, per-registry CAs, timeouts,
//! - [`credentials`]: `~/.docker/config.json`, credential helpers,
//! - [`Session`]: one registry host — endpoint choice (HTTPS, HTTP for
//!   insecure registries), anonymous/basic/bearer-token auth,
//! - [`pull()`]: manifest → platform → config → layers, in parallel,
//!   unpacked as they arrive, verified, resumable, committed atomically,
//! - [`push()`]: layers skipped/mounted/uploaded (gzip on demand), config,
//!   manifest,
//! - [`progress`]: events for the caller to render.
//!
//! The API is blocking; each [`Session`] runs its own small async runtime
//! for the HTTP client. Nothing here knows about the CLI.

pub mod artifact;
mod auth;
mod blobs;
mod client;
pub mod credentials;
mod distribution;
mod error;
pub mod fetch;
mod http_errors;
pub mod manifest;
pub mod options;
pub mod progress;
mod pull;
mod pull_layers;
mod push;
mod push_gzip;
mod retry;
mod session;
mod tls;
mod token;
mod upload;

pub use credentials::{Credential, DockerConfig};
pub use distribution::{inspect as distribution_inspect, DistributionInspect};
pub use error::{RegistryError, RegistryResult};
pub use manifest::Platform;
pub use options::RegistryOptions;
pub use progress::{Event, LayerStatus, Progress, Silent};
pub use pull::{pull, PullOptions, Pulled};
pub use push::{push, Pushed};
pub use session::Session;

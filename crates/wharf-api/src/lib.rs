//! wharf-api: the Docker Engine API (`wharf serve`) over wharf's engine.
//!
//! The docker CLI, docker-py, Compose and other SDKs talk to it as to
//! dockerd: on a unix socket (0660, root and `--group`) or loopback tcp
//! (other addresses only with TLS client verification), API versions
//! [`router::MIN_API_VERSION`]..=[`router::API_VERSION`] with or without
//! the `/vX.Y` prefix. Every handler makes the engine call the CLI's verb
//! makes, on the blocking pool, so the CLI and the API see the same
//! containers at all times; containers start through their monitors as
//! from the CLI and outlive the server.

// docker's `/info` is one large `json!`.
#![recursion_limit = "256"]

mod archive;
mod attach;
mod body;
mod build;
mod containers;
mod error;
mod exec;
mod images;
mod listen;
mod logs;
mod networks;
mod router;
mod server;
mod system;
mod tls;
mod volumes;

pub use error::{ApiError, ServeError};
pub use listen::{ListenSpec, DEFAULT_SOCKET};
pub use router::{API_VERSION, MIN_API_VERSION};
pub use server::{serve, ServeOptions, TlsFiles};

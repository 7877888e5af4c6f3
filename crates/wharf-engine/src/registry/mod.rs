//! Registry verbs: `pull`, `push`, `login`, `logout`, and the "pull if
//! missing" that `run`, `create` and the builder's `FROM` share.

mod auth;
mod pull;
mod push;

pub use auth::{server_host, LoginOutcome};
pub use pull::{PullPolicy, PullRequest, PulledImage};
pub use wharf_registry::{Event, LayerStatus, Progress, Pushed, Silent};

use wharf_registry::{RegistryOptions, Session};

use crate::{Engine, EngineResult};

impl Engine {
    /// Registry settings: docker's defaults and the `WHARF_*` variables.
    pub fn registry_options(&self) -> RegistryOptions {
        RegistryOptions::from_env()
    }

    fn session(&self, host: &str) -> EngineResult<Session> {
        Ok(Session::open(&self.registry_options(), host)?)
    }
}

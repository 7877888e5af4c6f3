//! Registry verbs: `pull`, `push`, `login`, `logout`, and the "pull if
//! missing" that `run`, `create` and the builder's `FROM` share.

mod auth;
mod pull;
mod push;

pub use auth::{server_host, LoginOutcome};
pub use pull::{PullPolicy, PullRequest, PulledImage};
pub use wharf_registry::{
    Credential, DistributionInspect, Event, LayerStatus, Progress, Pushed, Silent,
};

use wharf_oci::Reference;
use wharf_registry::{RegistryOptions, Session};

use crate::{Engine, EngineResult};

impl Engine {
    /// Registry settings: docker's defaults and the `WHARF_*` variables.
    pub fn registry_options(&self) -> RegistryOptions {
        RegistryOptions::from_env()
    }

    fn session(&self, host: &str) -> EngineResult<Session> {
        self.session_as(host, None)
    }

    /// A session with `credential` (the API's `X-Registry-Auth`: the
    /// client's), else with what `config.json` holds for `host`.
    fn session_as(&self, host: &str, credential: Option<Credential>) -> EngineResult<Session> {
        let opts = self.registry_options();
        Ok(match credential {
            Some(c) => Session::with_credential(&opts, host, Some(c))?,
            None => Session::open(&opts, host)?,
        })
    }

    /// What the registry has for `name` (its manifest's descriptor and
    /// platforms), pulling nothing: `GET /distribution/{name}/json`.
    pub fn distribution_inspect(
        &self,
        name: &str,
        credential: Option<Credential>,
    ) -> EngineResult<DistributionInspect> {
        let reference = Reference::parse_tagged(name)?;
        let session = self.session_as(reference.domain(), credential)?;
        Ok(wharf_registry::distribution_inspect(&session, &reference)?)
    }
}

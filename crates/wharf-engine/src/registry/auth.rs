//! `docker login` / `docker logout`: check credentials against the
//! registry, keep them in `config.json` (or its credential helper).

use std::path::PathBuf;

use wharf_registry::credentials::{Credential, DockerConfig};
use wharf_registry::Session;

use crate::{Engine, EngineError, EngineResult};

#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// Stored in plain text (base64) in this file: docker warns about it.
    pub plaintext_in: Option<PathBuf>,
}

/// The registry host a `login`/`logout` argument names: docker accepts
/// URLs (`https://host:5000/v1/`) and defaults to Docker Hub.
pub fn server_host(server: Option<&str>) -> String {
    let Some(s) = server.filter(|s| !s.is_empty()) else {
        return wharf_oci::reference::DEFAULT_DOMAIN.to_string();
    };
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "index.docker.io" | "registry-1.docker.io" => wharf_oci::reference::DEFAULT_DOMAIN.into(),
        h => h.to_string(),
    }
}

impl Engine {
    pub fn login(
        &self,
        server: Option<&str>,
        username: &str,
        password: &str,
    ) -> EngineResult<LoginOutcome> {
        let cred = self.check_login(server, username, password)?;
        let host = server_host(server);
        let opts = self.registry_options();
        let mut config = DockerConfig::load(&opts.config_dir)?;
        let plain = config.store(&host, &cred)?;
        Ok(LoginOutcome {
            plaintext_in: plain.then(|| config.path().to_path_buf()),
        })
    }

    /// Check credentials against the registry without storing them (the
    /// API's `/auth`: the client keeps its own).
    pub fn check_login(
        &self,
        server: Option<&str>,
        username: &str,
        password: &str,
    ) -> EngineResult<Credential> {
        if username.is_empty() {
            return Err(EngineError::Invalid(
                "Error: Non-null Username Required".into(),
            ));
        }
        if password.is_empty() {
            return Err(EngineError::Invalid("Error: Password Required".into()));
        }
        let host = server_host(server);
        let opts = self.registry_options();
        let cred = Credential {
            username: username.to_string(),
            secret: password.to_string(),
        };
        Session::with_credential(&opts, &host, Some(cred.clone()))?.check_login()?;
        Ok(cred)
    }

    /// Forget the credentials of `server`; false if there were none.
    pub fn logout(&self, server: Option<&str>) -> EngineResult<bool> {
        let host = server_host(server);
        let mut config = DockerConfig::load(&self.registry_options().config_dir)?;
        Ok(config.erase(&host)?)
    }
}

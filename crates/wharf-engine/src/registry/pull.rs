//! `docker pull` and the pull-if-missing of `run`/`create`/`FROM`.

use wharf_oci::{Digest, Reference};
use wharf_registry::{Event, Platform, Progress, PullOptions};

use crate::{Engine, EngineError, EngineResult, FullDisk};

#[derive(Debug, Clone, Default)]
pub struct PullRequest {
    /// `NAME[:TAG|@DIGEST]`; `:latest` when neither is given.
    pub name: String,
    /// `--platform os/arch[/variant]`.
    pub platform: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PulledImage {
    pub reference: Reference,
    pub image_id: Digest,
    /// What the reference resolved to on the registry (docker's `Digest:`).
    pub digest: Digest,
    /// False when the tag already pointed at this image ("Image is up to date").
    pub updated: bool,
}

/// `--pull` of `run` and `create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    #[default]
    Missing,
    Always,
    Never,
}

impl PullPolicy {
    pub fn parse(s: &str) -> EngineResult<PullPolicy> {
        match s {
            "missing" => Ok(PullPolicy::Missing),
            "always" => Ok(PullPolicy::Always),
            "never" => Ok(PullPolicy::Never),
            _ => Err(EngineError::Invalid(format!(
                "invalid pull option: '{s}': must be one of \"always\", \"missing\" or \"never\""
            ))),
        }
    }
}

impl Engine {
    /// Pull one image (one tag or digest) from its registry.
    pub fn pull(&self, req: &PullRequest, progress: &dyn Progress) -> EngineResult<PulledImage> {
        self.pull_as(req, None, progress)
    }

    /// [`Engine::pull`] with `credential` instead of `config.json`'s (the
    /// API's `X-Registry-Auth`).
    pub fn pull_as(
        &self,
        req: &PullRequest,
        credential: Option<super::Credential>,
        progress: &dyn Progress,
    ) -> EngineResult<PulledImage> {
        let reference = Reference::parse_tagged(&req.name)?;
        let platform = req.platform.as_deref().map(Platform::parse).transpose()?;
        self.store.sweep();
        let session = self.session_as(reference.domain(), credential)?;
        let pulled = wharf_registry::pull(
            &session,
            &self.store,
            &reference,
            &PullOptions { platform },
            progress,
        )
        .map_err(EngineError::from)
        .naming(|| format!("pulling {}", reference.familiar()))?;
        let pull = self.image_event(
            &reference.familiar(),
            &pulled.image_id,
            "pull",
            &reference.familiar_repository(),
            true,
        );
        self.record_events(&[pull])?;
        Ok(PulledImage {
            reference,
            image_id: pulled.image_id,
            digest: pulled.digest,
            updated: pulled.updated,
        })
    }

    /// The tags a repository has on its registry (`pull -a`).
    pub fn remote_tags(&self, repository: &str) -> EngineResult<Vec<String>> {
        let r = Reference::parse(repository)?;
        let session = self.session(r.domain())?;
        Ok(session.tags(r.path())?)
    }

    /// The image `name` refers to, pulled first when `policy` says so (as
    /// `run`, `create` and `FROM` do). Pull output goes to `progress`,
    /// including docker's "Unable to find image" and "Status:" lines as
    /// [`Event::Status`].
    pub fn ensure_image(
        &self,
        name: &str,
        policy: PullPolicy,
        platform: Option<&str>,
        progress: &dyn Progress,
    ) -> EngineResult<Digest> {
        let local = self.resolve_image(name);
        let pull_needed = match (&local, policy) {
            (_, PullPolicy::Always) => true,
            (Ok(_), _) => false,
            (Err(EngineError::NotFound(_)), PullPolicy::Missing) => true,
            (Err(_), _) => false,
        };
        if !pull_needed {
            return local;
        }
        // An ID (or ID prefix) is never pulled.
        let Ok(reference) = Reference::parse_tagged(name) else {
            return local;
        };
        if local.is_err() {
            progress.event(Event::Status(format!(
                "Unable to find image '{}' locally",
                reference.familiar()
            )));
        }
        let pulled = self.pull(
            &PullRequest {
                name: name.to_string(),
                platform: platform.map(str::to_string),
            },
            progress,
        )?;
        progress.event(Event::Status(format!("Digest: {}", pulled.digest)));
        progress.event(Event::Status(format!(
            "Status: {} for {}",
            if pulled.updated {
                "Downloaded newer image"
            } else {
                "Image is up to date"
            },
            reference.familiar()
        )));
        Ok(pulled.image_id)
    }
}

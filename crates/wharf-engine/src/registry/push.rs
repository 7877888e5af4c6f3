//! `docker push`.

use wharf_oci::{Digest, Reference};
use wharf_registry::{Progress, Pushed};

use crate::{Engine, EngineError, EngineResult};

impl Engine {
    /// What `push [-a] NAME` sends: the tag named (`:latest` by default),
    /// or with `all_tags` every local tag of the repository.
    pub fn push_targets(
        &self,
        name: &str,
        all_tags: bool,
    ) -> EngineResult<Vec<(Reference, Digest)>> {
        let r = Reference::parse(name)?;
        if r.digest().is_some() {
            return Err(EngineError::Invalid(format!(
                "cannot push a digest reference: {name}"
            )));
        }
        if all_tags {
            if r.tag().is_some() {
                return Err(EngineError::Invalid(
                    "tag can't be used with --all-tags/-a".into(),
                ));
            }
            let mut tags = self.repository_tags(&r.repository())?;
            tags.sort_by(|a, b| a.0.tag().cmp(&b.0.tag()));
            if tags.is_empty() {
                return Err(EngineError::NotFound(format!(
                    "An image does not exist locally with the tag: {}",
                    r.familiar_repository()
                )));
            }
            return Ok(tags);
        }
        let r = r.with_default_tag();
        let id = self
            .store
            .read(|tx| wharf_store::images::resolve_tag(tx, &r.to_string()))?
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "An image does not exist locally with the tag: {}",
                    r.familiar_repository()
                ))
            })?;
        Ok(vec![(r, id)])
    }

    /// Push one tagged image to its registry.
    pub fn push(
        &self,
        reference: &Reference,
        image_id: &Digest,
        progress: &dyn Progress,
    ) -> EngineResult<Pushed> {
        self.push_as(reference, image_id, None, progress)
    }

    /// [`Engine::push`] with `credential` instead of `config.json`'s (the
    /// API's `X-Registry-Auth`).
    pub fn push_as(
        &self,
        reference: &Reference,
        image_id: &Digest,
        credential: Option<super::Credential>,
        progress: &dyn Progress,
    ) -> EngineResult<Pushed> {
        self.store.sweep();
        let session = self.session_as(reference.domain(), credential)?;
        let pushed = wharf_registry::push(&session, &self.store, reference, image_id, progress)?;
        let push = self.image_event(
            &reference.familiar(),
            image_id,
            "push",
            &reference.familiar_repository(),
            true,
        );
        self.record_events(&[push])?;
        Ok(pushed)
    }
}

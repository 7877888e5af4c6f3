//! `docker tag`, `docker rmi`, `docker image prune`.

use wharf_oci::{Digest, ImageConfig, Reference};
use wharf_store::rusqlite::Transaction;
use wharf_store::{images, Garbage, StoreError, StoreResult};

use super::lookup::Named;
use crate::{Engine, EngineError, EngineResult};

/// One line of `docker rmi` output.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoveEvent {
    Untagged(String),
    Deleted(Digest),
}

#[derive(Debug, Default)]
pub struct PruneReport {
    pub events: Vec<RemoveEvent>,
    pub reclaimed: u64,
}

fn familiar(name: &str) -> String {
    Reference::parse(name)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| name.to_string())
}

impl Engine {
    /// `docker tag SOURCE TARGET`.
    pub fn tag_image(&self, source: &str, target: &str) -> EngineResult<()> {
        let id = self.resolve_image(source)?;
        let target = Reference::parse_tagged(target)?;
        if target.digest().is_some() {
            return Err(EngineError::Invalid(format!(
                "refusing to create a tag with a digest reference: {}",
                target.familiar()
            )));
        }
        self.store
            .write(|tx| images::set_tag(tx, &target.to_string(), &id))?;
        self.record_tags(&id, [&target])
    }

    /// `docker rmi [-f] NAME`.
    pub fn remove_image(&self, name: &str, force: bool) -> EngineResult<Vec<RemoveEvent>> {
        let (id, named) = self.lookup(name)?;
        let _gc = self.store.gc_lock()?;
        let mut events = Vec::new();
        let garbage = self.store.write(|tx| {
            let tags = images::tags_of(tx, &id)?;
            match &named {
                Named::Reference(r) => {
                    let key = r.to_string();
                    if r.digest().is_some() {
                        images::remove_repo_digest(
                            tx,
                            &format!("{}@{}", r.repository(), r.digest().expect("digest")),
                        )?;
                    } else {
                        images::remove_tag(tx, &key)?;
                    }
                    events.push(RemoveEvent::Untagged(r.familiar()));
                    self.untag_event(tx, &id)?;
                    if tags.iter().any(|t| *t != key) {
                        return Ok(None);
                    }
                }
                Named::Id => {
                    let repos: std::collections::HashSet<String> = tags
                        .iter()
                        .filter_map(|t| Reference::parse(t).ok())
                        .map(|r| r.repository())
                        .collect();
                    if tags.len() > 1 && !force {
                        let why = if repos.len() > 1 {
                            "image is referenced in multiple repositories"
                        } else {
                            "image is tagged in multiple references"
                        };
                        return Err(StoreError::Conflict(format!(
                            "conflict: unable to delete {} (must be forced) - {why}",
                            id.short()
                        )));
                    }
                    for t in &tags {
                        images::remove_tag(tx, t)?;
                        events.push(RemoveEvent::Untagged(familiar(t)));
                        self.untag_event(tx, &id)?;
                    }
                }
            }
            Ok(Some(self.delete_image_rows(tx, &id, &mut events)?))
        })?;
        // Rows gone, files not yet.
        wharf_failpoint::hit("image-rm-before-discard");
        if let Some(g) = garbage {
            self.store.discard(&g);
        }
        Ok(events)
    }

    /// docker's `untag` event, which names the image by its ID.
    fn untag_event(&self, tx: &Transaction, id: &Digest) -> StoreResult<()> {
        let name = id.to_string();
        wharf_store::events::insert(tx, &self.image_event(&name, id, "untag", &name, true))
    }

    /// Delete an untagged image (and its untagged parents that nothing else
    /// uses, as docker's rmi does), then collect unreferenced layers.
    fn delete_image_rows(
        &self,
        tx: &Transaction,
        id: &Digest,
        events: &mut Vec<RemoveEvent>,
    ) -> StoreResult<Garbage> {
        if !images::children(tx, id)?.is_empty() {
            return Err(StoreError::Conflict(format!(
                "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
                id.short()
            )));
        }
        if let Some(c) = wharf_store::containers::using_image(tx, id)?.first() {
            let how = if c.state.status.is_running() {
                "(cannot be forced) - image is being used by running"
            } else {
                "(must be forced) - image is being used by stopped"
            };
            return Err(StoreError::Conflict(format!(
                "conflict: unable to delete {} {how} container {}",
                id.short(),
                &c.id[..12]
            )));
        }
        let mut configs = Vec::new();
        let mut cursor = Some(id.clone());
        let mut diff_ids = Vec::new();
        while let Some(cur) = cursor.take() {
            let Some(rec) = images::get(tx, &cur)? else {
                break;
            };
            images::delete(tx, &cur)?;
            events.push(RemoveEvent::Deleted(cur.clone()));
            let name = cur.to_string();
            let deleted = self.image_event(&name, &cur, "delete", &name, false);
            wharf_store::events::insert(tx, &deleted)?;
            configs.push(cur);
            if diff_ids.is_empty() {
                diff_ids = rec.layers.clone();
            }
            cursor = rec.parent.filter(|p| {
                images::tags_of(tx, p)
                    .map(|t| t.is_empty())
                    .unwrap_or(false)
                    && images::children(tx, p)
                        .map(|c| c.is_empty())
                        .unwrap_or(false)
            });
        }
        let garbage = self.store.drop_unreferenced(tx, configs)?;
        // Docker lists each released layer by its chain ID.
        let chain = Digest::chain_ids(&diff_ids);
        for (d, c) in diff_ids.iter().zip(chain).rev() {
            if garbage.layers.iter().any(|l| l.diff_id == *d) {
                events.push(RemoveEvent::Deleted(c));
            }
        }
        Ok(garbage)
    }

    /// `docker image prune [-a]`: dangling images, or with `all` every
    /// image (no containers use images yet).
    pub fn prune_images(&self, all: bool) -> EngineResult<PruneReport> {
        let _gc = self.store.gc_lock()?;
        let mut report = PruneReport::default();
        let garbage = self.store.write(|tx| {
            let mut garbage = Garbage::default();
            loop {
                // Repeat: deleting a child can make its parent prunable.
                let mut progressed = false;
                for img in images::list(tx)? {
                    let tags = images::tags_of(tx, &img.id)?;
                    if (!all && !tags.is_empty())
                        || !images::children(tx, &img.id)?.is_empty()
                        || !wharf_store::containers::using_image(tx, &img.id)?.is_empty()
                    {
                        continue;
                    }
                    for t in &tags {
                        images::remove_tag(tx, t)?;
                        report.events.push(RemoveEvent::Untagged(familiar(t)));
                        self.untag_event(tx, &img.id)?;
                    }
                    let g = self.delete_image_rows(tx, &img.id, &mut report.events)?;
                    garbage.layers.extend(g.layers);
                    garbage.blobs.extend(g.blobs);
                    progressed = true;
                }
                if !progressed {
                    break;
                }
            }
            Ok(garbage)
        })?;
        report.reclaimed = garbage.layer_bytes();
        self.record_prune(wharf_model::EventType::Image, report.reclaimed)?;
        wharf_failpoint::hit("image-prune-before-discard");
        self.store.discard(&garbage);
        drop(_gc);
        self.store.sweep_orphans()?;
        Ok(report)
    }

    /// The image's config, parsed (for callers that need Cmd, Env ...).
    pub fn image_config(&self, id: &Digest) -> EngineResult<ImageConfig> {
        let raw = self.store.read_blob(id)?;
        ImageConfig::from_slice(&raw)
            .map_err(|e| EngineError::Invalid(format!("image {id} has an invalid config: {e}")))
    }
}

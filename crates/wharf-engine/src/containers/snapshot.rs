//! `docker commit`.

use wharf_image::snapshot::{snapshot, SnapshotOptions};
use wharf_oci::Reference;
use wharf_runtime::monitor::ContainerDir;

use crate::{Engine, EngineError, EngineResult, FullDisk};

#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: Option<String>,
    pub author: Option<String>,
}

impl Engine {
    /// Commit a container's filesystem changes and config as a new image.
    pub fn commit_container(
        &self,
        name: &str,
        req: &CommitRequest,
    ) -> EngineResult<wharf_oci::Digest> {
        let tag = req
            .reference
            .as_deref()
            .map(Reference::parse_tagged)
            .transpose()?;
        let c = self.find_container(name)?;
        let dir = ContainerDir::new(self.store.root(), &c.id);
        // The container's config: the image's merged with the run options.
        let mut config = c.config().clone();
        config.hostname = String::new();
        let (path, args) = c.definition.command();
        let created_by = std::iter::once(path).chain(args).collect::<Vec<_>>();
        let opts = SnapshotOptions {
            changes: req.changes.clone(),
            message: req.message.clone(),
            author: req.author.clone(),
            tag,
            container_id: c.id.clone(),
            created_by: created_by.join(" "),
        };
        let id = snapshot(&self.store, &dir.upper(), &c.image_id, config, &opts)
            .map_err(EngineError::from)
            .naming(|| format!("committing container {name}"))?
            .id;
        self.record_tags(&id, opts.tag.iter())?;
        Ok(id)
    }
}

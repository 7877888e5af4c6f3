//! `docker commit`.

use wharf_image::changes::set_env;
use wharf_image::snapshot::{snapshot, SnapshotOptions};
use wharf_oci::Reference;
use wharf_runtime::monitor::ContainerDir;

use crate::{Engine, EngineResult};

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
        let m = self.monitor_config(&c.id)?;
        // The container's config: the image's, with the run options on top.
        let mut config = m.image.clone();
        for kv in &m.options.env {
            if let Some((k, v)) = kv.split_once('=') {
                set_env(&mut config.env, k, v);
            }
        }
        if let Some(cmd) = &m.options.cmd {
            config.cmd = Some(cmd.clone());
        }
        if let Some(ep) = &m.options.entrypoint {
            config.entrypoint = Some(ep.clone());
        }
        if let Some(w) = &m.options.workdir {
            config.working_dir = w.clone();
        }
        if let Some(u) = &m.options.user {
            config.user = u.clone();
        }
        config.hostname = String::new();
        config.image = c.image_ref.clone();
        let recorded: serde_json::Value = serde_json::from_str(&c.config).unwrap_or_default();
        let mut created_by = vec![recorded["Path"].as_str().unwrap_or_default().to_string()];
        created_by.extend(
            recorded["Args"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string)),
        );
        let opts = SnapshotOptions {
            changes: req.changes.clone(),
            message: req.message.clone(),
            author: req.author.clone(),
            tag,
            container_id: c.id.clone(),
            created_by: created_by.join(" "),
        };
        Ok(snapshot(&self.store, &dir.upper(), &c.image_id, config, &opts)?.id)
    }
}

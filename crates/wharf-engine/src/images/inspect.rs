//! `docker image inspect`: the image as docker's API returns it.

use serde_json::{json, Value};
use wharf_oci::{Digest, ImageConfig, Reference};
use wharf_store::images;

use crate::{Engine, EngineResult};

/// Go's zero time, which docker prints for images without `created`.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Engine {
    /// Docker's `ImageInspect` JSON for `name`.
    pub fn inspect_image(&self, name: &str) -> EngineResult<Value> {
        let id = self.resolve_image(name)?;
        self.inspect_image_id(&id)
    }

    pub(crate) fn inspect_image_id(&self, id: &Digest) -> EngineResult<Value> {
        let raw = self.store.read_blob(id)?;
        let config = ImageConfig::from_slice(&raw).unwrap_or_default();
        let (record, tags, digests) = self.store.read(|tx| {
            let rec = images::get(tx, id)?
                .ok_or_else(|| wharf_store::StoreError::NotFound(format!("No such image: {id}")))?;
            Ok((
                rec,
                images::tags_of(tx, id)?,
                images::repo_digests_of(tx, id)?,
            ))
        })?;
        let familiar = |n: &String| {
            Reference::parse(n)
                .map(|r| r.familiar())
                .unwrap_or_else(|_| n.clone())
        };
        let layer_dirs: Vec<String> = record
            .layers
            .iter()
            .rev()
            .map(|d| self.store.layer_dir(d).display().to_string())
            .collect();
        let mut graph = serde_json::Map::new();
        if let Some((upper, lower)) = layer_dirs.split_first() {
            if !lower.is_empty() {
                graph.insert("LowerDir".into(), json!(lower.join(":")));
            }
            graph.insert("UpperDir".into(), json!(upper));
        }
        let mut v = json!({
            "Id": id.to_string(),
            "RepoTags": tags.iter().map(familiar).collect::<Vec<_>>(),
            "RepoDigests": digests.iter().map(familiar).collect::<Vec<_>>(),
            "Parent": record.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            "Comment": config.comment,
            "Created": config.created.clone().unwrap_or_else(|| ZERO_TIME.to_string()),
            "Container": config.container,
            "ContainerConfig": config.container_config.clone().unwrap_or_default(),
            "DockerVersion": config.docker_version,
            "Author": config.author,
            "Config": config.config.clone().unwrap_or_default(),
            "Architecture": config.architecture,
        });
        let obj = v.as_object_mut().expect("object");
        if !config.variant.is_empty() {
            obj.insert("Variant".into(), json!(config.variant));
        }
        obj.insert("Os".into(), json!(config.os));
        if !config.os_version.is_empty() {
            obj.insert("OsVersion".into(), json!(config.os_version));
        }
        obj.insert("Size".into(), json!(record.size));
        obj.insert("VirtualSize".into(), json!(record.size));
        obj.insert(
            "GraphDriver".into(),
            json!({"Data": graph, "Name": "overlay2"}),
        );
        obj.insert(
            "RootFS".into(),
            json!({"Type": "layers", "Layers": config.diff_ids().iter().map(|d| d.to_string()).collect::<Vec<_>>()}),
        );
        obj.insert(
            "Metadata".into(),
            json!({"LastTagTime": record.last_tag_time.unwrap_or_else(|| ZERO_TIME.to_string())}),
        );
        Ok(v)
    }
}

//! `docker history`: the config's history, newest first, with layer sizes.

use chrono::{DateTime, Utc};
use wharf_oci::{config::parse_time, Digest, ImageConfig, Reference};
use wharf_store::{images, layers};

use crate::{Engine, EngineResult};

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The image this step produced, when that image is in the store
    /// (docker prints `<missing>` otherwise).
    pub id: Option<Digest>,
    pub created: Option<DateTime<Utc>>,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub comment: String,
}

impl Engine {
    pub fn image_history(&self, name: &str) -> EngineResult<Vec<HistoryEntry>> {
        let id = self.resolve_image(name)?;
        // The image and its local ancestors, each with its history length:
        // the last history entry of each belongs to it.
        let mut owners: Vec<(usize, Digest)> = Vec::new();
        let mut cursor = Some(id.clone());
        let mut top: Option<ImageConfig> = None;
        while let Some(cur) = cursor {
            let Ok(raw) = self.store.read_blob(&cur) else {
                break;
            };
            let cfg = ImageConfig::from_slice(&raw).unwrap_or_default();
            owners.push((cfg.history.len(), cur.clone()));
            cursor = self
                .store
                .read(|tx| Ok(images::get(tx, &cur)?.and_then(|r| r.parent)))?;
            top.get_or_insert(cfg);
        }
        let config = top.unwrap_or_default();
        let diff_ids = config.diff_ids().to_vec();
        let sizes = self.store.read(|tx| {
            diff_ids
                .iter()
                .map(|d| Ok(layers::get(tx, d)?.map(|l| l.size).unwrap_or(0)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut layer_idx = 0;
        let mut out = Vec::new();
        for (i, h) in config.history.iter().enumerate() {
            let size = if h.empty_layer {
                0
            } else {
                layer_idx += 1;
                sizes.get(layer_idx - 1).copied().unwrap_or(0)
            };
            let owner = owners
                .iter()
                .find(|(len, _)| *len == i + 1)
                .map(|(_, d)| d.clone());
            let tags = match &owner {
                Some(d) => self.store.read(|tx| images::tags_of(tx, d))?,
                None => Vec::new(),
            };
            out.push(HistoryEntry {
                id: owner,
                created: h.created.as_deref().and_then(parse_time),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: tags
                    .iter()
                    .map(|t| {
                        Reference::parse(t)
                            .map(|r| r.familiar())
                            .unwrap_or_else(|_| t.clone())
                    })
                    .collect(),
                size,
                comment: h.comment.clone().unwrap_or_default(),
            });
        }
        if out.is_empty() {
            // Docker shows one row even for an image without history.
            out.push(HistoryEntry {
                id: Some(id),
                created: config.created_time(),
                created_by: String::new(),
                tags: Vec::new(),
                size: sizes.iter().sum(),
                comment: String::new(),
            });
        }
        out.reverse();
        Ok(out)
    }
}

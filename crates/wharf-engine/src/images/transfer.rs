//! `docker import`, `docker save`, `docker load`.

use std::io::{Read, Write};

use wharf_image::archive::{self, Loaded, SaveItem};
use wharf_image::import::{import_rootfs, ImportOptions};
use wharf_oci::{Digest, Reference};

use super::lookup::Named;
use crate::{Engine, EngineError, EngineResult};

#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// `[REPOSITORY[:TAG]]`.
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: Option<String>,
    /// `-` when read from a file or stdin, as docker records it.
    pub source: String,
    /// `--platform`: only this machine's is accepted.
    pub platform: Option<String>,
}

impl Engine {
    pub fn import_image<R: Read>(&self, src: R, req: &ImportRequest) -> EngineResult<Digest> {
        let tag = req.reference.as_deref().map(Reference::parse_tagged).transpose()?;
        if let Some(p) = &req.platform {
            let want = wharf_oci::platform::default_platform();
            if p != &want && p != wharf_oci::platform::OS {
                return Err(EngineError::Invalid(format!("unsupported platform {p:?}: this machine runs {want}")));
            }
        }
        self.store.sweep();
        let opts = ImportOptions { changes: req.changes.clone(), message: req.message.clone(), source: req.source.clone(), tag };
        Ok(import_rootfs(&self.store, src, &opts)?.id)
    }

    /// Write the named images to `out` as one archive. Images named by
    /// reference keep that tag; images named by ID are saved with all
    /// their tags, as docker does.
    pub fn save_images<W: Write>(&self, names: &[String], out: W) -> EngineResult<W> {
        let mut items: Vec<SaveItem> = Vec::new();
        for name in names {
            let (id, named) = self.lookup(name)?;
            let tags = match named {
                Named::Reference(r) if r.digest().is_none() => vec![r],
                Named::Reference(_) => Vec::new(),
                Named::Id => self
                    .store
                    .read(|tx| wharf_store::images::tags_of(tx, &id))?
                    .iter()
                    .filter_map(|t| Reference::parse(t).ok())
                    .collect(),
            };
            match items.iter_mut().find(|i| i.id == id) {
                Some(item) => item.tags.extend(tags.into_iter().filter(|t| !item.tags.contains(t)).collect::<Vec<_>>()),
                None => items.push(SaveItem { id, tags }),
            }
        }
        Ok(archive::save(&self.store, &items, out)?)
    }

    pub fn load_images<R: Read>(&self, src: R) -> EngineResult<Vec<Loaded>> {
        Ok(archive::load(&self.store, src)?)
    }
}

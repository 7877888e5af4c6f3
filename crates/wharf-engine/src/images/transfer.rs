//! `docker import`, `docker save`, `docker load`.

use std::io::{Read, Write};

use wharf_image::archive::{self, Loaded, SaveItem};
use wharf_image::import::{import_rootfs, ImportOptions};
use wharf_oci::{Digest, Reference};

use super::lookup::Named;
use crate::{Engine, EngineError, EngineResult, FullDisk};

#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// `[REPOSITORY[:TAG]]`.
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: Option<String>,
    /// `-` when read from a file or stdin, as docker records it.
    pub source: String,
    /// `--platform`: any Linux platform, recorded in the image (as docker
    /// 23+ does; 20.10 records only the OS), so a foreign-arch rootfs can
    /// be a base for `build --platform` (RUN through qemu-user).
    pub platform: Option<String>,
}

impl Engine {
    pub fn import_image<R: Read>(&self, src: R, req: &ImportRequest) -> EngineResult<Digest> {
        let tag = req
            .reference
            .as_deref()
            .map(Reference::parse_tagged)
            .transpose()?;
        let platform = match req.platform.as_deref().filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => {
                let parsed = wharf_registry::Platform::parse(p).map_err(|_| {
                    EngineError::Invalid(format!(
                        "{p:?}: cannot parse platform specifier: invalid argument"
                    ))
                })?;
                if parsed.os != wharf_oci::platform::OS {
                    return Err(EngineError::Invalid(
                        "operating system is not supported".into(),
                    ));
                }
                Some((parsed.architecture, parsed.variant))
            }
        };
        self.store.sweep();
        let opts = ImportOptions {
            changes: req.changes.clone(),
            message: req.message.clone(),
            source: req.source.clone(),
            tag: tag.clone(),
            platform,
        };
        let id = import_rootfs(&self.store, src, &opts)
            .map_err(EngineError::from)
            .naming(|| match &opts.tag {
                Some(t) => format!("importing {}", t.familiar()),
                None => "importing an image".into(),
            })?
            .id;
        self.record_tags(&id, tag.iter())?;
        let name = id.to_string();
        self.record_events(&[self.image_event(&name, &id, "import", &name, true)])?;
        Ok(id)
    }

    /// Write the named images to `out` as one archive, with docker's rules
    /// for which tags go along: `repo:tag` that tag, a bare `repo` every tag
    /// of that repository, an ID none.
    pub fn save_images<W: Write>(&self, names: &[String], out: W) -> EngineResult<W> {
        let mut items: Vec<SaveItem> = Vec::new();
        let mut add = |id: Digest, tags: Vec<Reference>| match items.iter_mut().find(|i| i.id == id)
        {
            Some(item) => item.tags.extend(
                tags.into_iter()
                    .filter(|t| !item.tags.contains(t))
                    .collect::<Vec<_>>(),
            ),
            None => items.push(SaveItem { id, tags }),
        };
        for name in names {
            if let Some(repo) = Reference::parse(name)
                .ok()
                .filter(|r| r.tag().is_none() && r.digest().is_none())
            {
                let tagged = self.repository_tags(&repo.repository())?;
                if !tagged.is_empty() {
                    for (r, id) in tagged {
                        add(id, vec![r]);
                    }
                    continue;
                }
            }
            let (id, named) = self.lookup(name)?;
            match named {
                Named::Reference(r) if r.digest().is_none() => add(id, vec![r]),
                _ => add(id, Vec::new()),
            }
        }
        let out = archive::save(&self.store, &items, out)?;
        let saved: Vec<_> = items
            .iter()
            .map(|i| {
                let name = i.id.to_string();
                self.image_event(&name, &i.id, "save", &name, true)
            })
            .collect();
        self.record_events(&saved)?;
        Ok(out)
    }

    /// Every tag of one repository (`docker.io/library/busybox`).
    pub(crate) fn repository_tags(
        &self,
        repository: &str,
    ) -> EngineResult<Vec<(Reference, Digest)>> {
        let tags = self.store.read(|tx| wharf_store::images::all_tags(tx))?;
        Ok(tags
            .into_iter()
            .filter_map(|t| Reference::parse(&t.name).ok().map(|r| (r, t.image_id)))
            .filter(|(r, _)| r.repository() == repository)
            .collect())
    }

    pub fn load_images<R: Read>(&self, src: R) -> EngineResult<Vec<Loaded>> {
        let loaded = archive::load(&self.store, src)
            .map_err(EngineError::from)
            .naming(|| "loading images from the archive".into())?;
        let events: Vec<_> = loaded
            .iter()
            .map(|l| {
                let name = l.id.to_string();
                self.image_event(&name, &l.id, "load", &name, true)
            })
            .collect();
        self.record_events(&events)?;
        Ok(loaded)
    }
}

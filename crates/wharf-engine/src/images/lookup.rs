//! Finding an image the way docker does: by reference, full ID, or ID prefix.

use wharf_oci::{Digest, Reference};
use wharf_store::images;

use crate::{Engine, EngineError, EngineResult};

/// How the user named an image; `rmi` behaves differently for each.
#[derive(Debug, Clone)]
pub(crate) enum Named {
    Reference(Reference),
    Id,
}

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Engine {
    /// Resolve `name` (a reference, `sha256:<id>`, a full or short ID) to an image ID.
    pub fn resolve_image(&self, name: &str) -> EngineResult<Digest> {
        Ok(self.lookup(name)?.0)
    }

    /// Like [`resolve_image`](Self::resolve_image) but without short-ID
    /// matching, as BuildKit resolves `FROM` and `COPY --from`: `app` is
    /// always a repository, never an ID that happens to start with `a`.
    pub fn resolve_image_reference(&self, name: &str) -> EngineResult<Digest> {
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if name.starts_with("sha256:") || hex.len() == 64 {
            return self.resolve_image(name);
        }
        let r = Reference::parse_tagged(name)?;
        self.store
            .read(|tx| images::resolve_tag(tx, &r.to_string()))?
            .ok_or_else(|| EngineError::NotFound(format!("No such image: {}", r.familiar())))
    }

    pub(crate) fn lookup(&self, name: &str) -> EngineResult<(Digest, Named)> {
        let not_found = |shown: &str| EngineError::NotFound(format!("No such image: {shown}"));
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        if name.starts_with("sha256:") && !is_hex(hex) {
            return Err(not_found(name));
        }
        // A 64-hex string is always an ID (docker forbids it as a repository name).
        let reference = if name.starts_with("sha256:") || (hex.len() == 64 && is_hex(hex)) {
            None
        } else {
            Some(Reference::parse_tagged(name)?)
        };
        self.store.read(|tx| {
            if let Some(r) = &reference {
                if let Some(id) = images::resolve_tag(tx, &r.to_string())? {
                    return Ok(Ok((id, Named::Reference(r.clone()))));
                }
                if r.digest().is_some() {
                    if let Some(id) = images::resolve_repo_digest(
                        tx,
                        &format!("{}@{}", r.repository(), r.digest().expect("has digest")),
                    )? {
                        return Ok(Ok((id, Named::Reference(r.clone()))));
                    }
                }
            }
            if !is_hex(hex) {
                return Ok(Err(not_found(
                    &reference
                        .map(|r| r.familiar())
                        .unwrap_or_else(|| name.into()),
                )));
            }
            let ids = images::ids_with_prefix(tx, hex)?;
            Ok(match ids.as_slice() {
                [id] => Ok((id.clone(), Named::Id)),
                [] => Err(not_found(
                    &reference
                        .map(|r| r.familiar())
                        .unwrap_or_else(|| name.into()),
                )),
                _ => Err(EngineError::NotFound(format!(
                    "No such image: {name} (ambiguous: {} images match)",
                    ids.len()
                ))),
            })
        })?
    }
}

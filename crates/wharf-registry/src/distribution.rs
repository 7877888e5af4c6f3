//! `GET /distribution/{name}/json` (docker's `DistributionInspect`): what a
//! registry has for a reference, the top manifest's descriptor and the
//! platforms it serves, without pulling anything.

use wharf_oci::{ImageConfig, Reference};

use crate::blobs::fetch_small;
use crate::manifest::{Descriptor, Manifest, Platform};
use crate::{RegistryError, RegistryResult, Session};

#[derive(Debug, Clone)]
pub struct DistributionInspect {
    /// The manifest (or index) the reference names.
    pub descriptor: Descriptor,
    /// An index's platforms; a single image's, from its config.
    pub platforms: Vec<Platform>,
}

pub fn inspect(session: &Session, reference: &Reference) -> RegistryResult<DistributionInspect> {
    let path = reference.path();
    let shown = reference.familiar();
    let top = session.manifest(path, &crate::pull::manifest_ref(reference), &shown)?;
    let platforms = match &top.manifest {
        Manifest::Index { manifests } => manifests
            .iter()
            .filter_map(|d| d.platform.clone())
            .collect(),
        Manifest::Image { config, .. } => {
            let bytes = session.block_on(fetch_small(&session.client, path, &config.digest))?;
            let c = ImageConfig::from_slice(&bytes).map_err(|e| {
                RegistryError::Protocol(format!("invalid image config of {shown}: {e}"))
            })?;
            vec![Platform {
                os: c.os,
                architecture: c.architecture,
                variant: c.variant,
            }]
        }
    };
    Ok(DistributionInspect {
        descriptor: Descriptor {
            media_type: top.media_type,
            digest: top.digest,
            size: top.bytes.len() as u64,
            platform: None,
            urls: Vec::new(),
        },
        platforms,
    })
}

//! A container's sizes, as `ps --size` and `inspect --size` show them:
//! what its writable layer holds (`SizeRw`) and that plus its image
//! (`SizeRootFs`, docker's "virtual" size). Walks the upper dir: only on
//! request.

use wharf_runtime::monitor::ContainerDir;

use crate::volumes::manage::tree_size;
use crate::{Engine, EngineResult};

/// `SizeRw` and `SizeRootFs`, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerSize {
    pub rw: u64,
    pub root_fs: u64,
}

impl Engine {
    pub fn container_size(&self, name: &str) -> EngineResult<ContainerSize> {
        let c = self.find_container(name)?;
        let rw = tree_size(&ContainerDir::new(self.store.root(), &c.id).upper());
        let image = self
            .store
            .read(|tx| wharf_store::images::get(tx, &c.image_id))?
            .map(|i| i.size)
            .unwrap_or(0);
        Ok(ContainerSize {
            rw,
            root_fs: rw + image,
        })
    }
}

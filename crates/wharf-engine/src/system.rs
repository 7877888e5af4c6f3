//! `docker system df`: images and volumes.

use std::collections::HashSet;

use wharf_store::{images, layers};

use crate::{Engine, EngineResult};

#[derive(Debug, Clone, Default)]
pub struct UsageRow {
    pub total: u64,
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}

#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    pub images: UsageRow,
    pub containers: UsageRow,
    pub volumes: UsageRow,
    pub build_cache: UsageRow,
}

impl Engine {
    pub fn disk_usage(&self) -> EngineResult<DiskUsage> {
        let (imgs, layer_rows) = self
            .store
            .read(|tx| Ok((images::list(tx)?, layers::all(tx)?)))?;
        let used: HashSet<_> = imgs.iter().flat_map(|i| i.layers.iter().cloned()).collect();
        // Shared layers count once, as in docker's SIZE column.
        let size: u64 = layer_rows
            .iter()
            .filter(|l| used.contains(&l.diff_id))
            .map(|l| l.size)
            .sum();
        let mut volumes = UsageRow::default();
        for v in self.list_volumes()? {
            let bytes = self.volume_size(&v.record.name);
            volumes.total += 1;
            volumes.size += bytes;
            if v.containers > 0 {
                volumes.active += 1;
            } else {
                volumes.reclaimable += bytes;
            }
        }
        Ok(DiskUsage {
            images: UsageRow {
                total: imgs.len() as u64,
                active: 0,
                size,
                reclaimable: size,
            },
            volumes,
            ..Default::default()
        })
    }
}

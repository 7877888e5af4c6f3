//! Finding a container by name, full ID or ID prefix, as docker does.

use wharf_store::containers::{self, ContainerRecord};

use crate::{Engine, EngineError, EngineResult};

impl Engine {
    pub fn find_container(&self, name_or_id: &str) -> EngineResult<ContainerRecord> {
        let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        let found = self.store.read(|tx| {
            if let Some(c) = containers::get(tx, name)? {
                return Ok(vec![c]);
            }
            if let Some(c) = containers::by_name(tx, name)? {
                return Ok(vec![c]);
            }
            let ids = containers::ids_with_prefix(tx, name)?;
            ids.iter()
                .map(|id| containers::get(tx, id))
                .filter_map(|r| r.transpose())
                .collect()
        })?;
        match found.len() {
            1 => Ok(found.into_iter().next().expect("one")),
            0 => Err(EngineError::NotFound(format!(
                "No such container: {name_or_id}"
            ))),
            n => Err(EngineError::NotFound(format!(
                "multiple IDs found with provided prefix: {name_or_id} ({n} containers)"
            ))),
        }
    }
}

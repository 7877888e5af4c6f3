//! `docker ps`: a summary of each container, from its record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use wharf_model::{HealthStatus, Status};
use wharf_oci::config::parse_time;
use wharf_store::containers;

use crate::{Engine, EngineResult};

#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    /// Path and args, as docker's COMMAND column shows them.
    pub command: String,
    pub created: Option<DateTime<Utc>>,
    pub status: Status,
    pub exit_code: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// While it runs with a health check.
    pub health: Option<HealthStatus>,
    pub labels: BTreeMap<String, String>,
    /// Published and exposed ports (while it runs).
    pub ports: Vec<super::PortView>,
}

impl Engine {
    /// Containers, newest first; only running ones unless `all`.
    pub fn list_containers(&self, all: bool) -> EngineResult<Vec<ContainerSummary>> {
        let rows = self.store.read(|tx| containers::list(tx))?;
        let mut out = Vec::new();
        for c in rows {
            let c = self.refresh(c)?;
            let up = c.state.status.is_running();
            if !all && !up {
                continue;
            }
            let (path, args) = c.definition.command();
            let command = std::iter::once(path).chain(args).collect::<Vec<_>>();
            let ports = self.container_ports(&c)?;
            out.push(ContainerSummary {
                ports,
                command: command.join(" "),
                image: c.definition.image_ref().to_string(),
                created: parse_time(&c.created),
                status: c.state.status,
                exit_code: c.state.exit_code,
                started_at: c.state.started_at.as_deref().and_then(parse_time),
                finished_at: c.state.finished_at.as_deref().and_then(parse_time),
                health: c.state.health.as_ref().filter(|_| up).map(|h| h.status),
                labels: c.definition.config.labels.clone().unwrap_or_default(),
                id: c.id,
                name: c.name,
            });
        }
        Ok(out)
    }
}

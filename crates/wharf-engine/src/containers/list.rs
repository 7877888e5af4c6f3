//! `docker ps`.

use chrono::{DateTime, Utc};
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
    pub state: String,
    pub exit_code: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub paused: bool,
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
            if !all && c.state != "running" {
                continue;
            }
            let config: serde_json::Value = serde_json::from_str(&c.config).unwrap_or_default();
            let mut command = vec![config["Path"].as_str().unwrap_or_default().to_string()];
            command.extend(
                config["Args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string)),
            );
            let ports = self.container_ports(&c.id, c.state == "running")?;
            out.push(ContainerSummary {
                ports,
                id: c.id,
                name: c.name,
                image: c.image_ref,
                command: command.join(" "),
                created: parse_time(&c.created),
                state: c.state,
                exit_code: c.exit_code,
                started_at: c.started_at.as_deref().and_then(parse_time),
                finished_at: c.finished_at.as_deref().and_then(parse_time),
                paused: c.paused,
            });
        }
        Ok(out)
    }
}

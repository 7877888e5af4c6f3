//! `docker ps` / `GET /containers/json`: a summary of each container, from
//! its record, docker's filters, and the daemon's STATUS text.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use wharf_format::{human_duration, since};
use wharf_model::{HealthStatus, MountPoint, Status};
use wharf_oci::config::parse_time;
use wharf_store::containers;

use crate::{Engine, EngineError, EngineResult};

#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
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
    /// `HostConfig.NetworkMode`.
    pub network_mode: String,
    pub mounts: Vec<MountPoint>,
}

impl ContainerSummary {
    /// The STATUS docker's daemon reports (`Up 2 minutes`, `Exited (0) 3
    /// seconds ago`), as of `now`.
    pub fn status_text(&self, now: DateTime<Utc>) -> String {
        let up = || {
            self.started_at
                .map(|t| human_duration(now - t))
                .unwrap_or_default()
        };
        let ago = |t: Option<DateTime<Utc>>| t.map(|t| since(t, now)).unwrap_or_default();
        let health = match self.health {
            Some(HealthStatus::Starting) => " (health: starting)",
            Some(HealthStatus::Healthy) => " (healthy)",
            Some(HealthStatus::Unhealthy) => " (unhealthy)",
            _ => "",
        };
        match self.status {
            Status::Running => format!("Up {}{health}", up()),
            Status::Paused => format!("Up {} (Paused)", up()),
            Status::Restarting => format!(
                "Restarting ({}) {}",
                self.exit_code.unwrap_or(0),
                ago(self.finished_at)
            ),
            Status::Exited => format!(
                "Exited ({}) {}",
                self.exit_code.unwrap_or(0),
                ago(self.finished_at)
            ),
            Status::Created => "Created".to_string(),
            Status::Removing => "Removal In Progress".to_string(),
            Status::Dead => "Dead".to_string(),
        }
    }
}

/// docker's container filters (`ps --filter`, the API's `filters`):
/// several values of one key match any, different keys must all match.
#[derive(Debug, Clone, Default)]
pub struct ContainerFilter {
    by_key: BTreeMap<String, Vec<String>>,
}

const FILTER_KEYS: &[&str] = &[
    "status", "name", "id", "ancestor", "exited", "label", "network", "volume",
];

impl ContainerFilter {
    /// Add one `key=value` (the CLI's `--filter`).
    pub fn add_flag(&mut self, filter: &str) -> EngineResult<()> {
        let (k, v) = filter
            .split_once('=')
            .ok_or_else(|| EngineError::Invalid(format!("invalid filter '{filter}'")))?;
        self.add(k, v)
    }

    /// Add a value for `key`; an unknown key is docker's "invalid filter".
    pub fn add(&mut self, key: &str, value: &str) -> EngineResult<()> {
        if !FILTER_KEYS.contains(&key) {
            return Err(EngineError::Invalid(format!("Invalid filter '{key}'")));
        }
        if key == "status" && !Status::ALL.iter().any(|s| s.as_str() == value) {
            return Err(EngineError::Invalid(format!(
                "Invalid filter 'status={value}'"
            )));
        }
        self.by_key
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
        Ok(())
    }

    /// A status filter lists stopped containers without `-a`, as docker.
    pub fn wants_stopped(&self) -> bool {
        self.by_key.contains_key("status") || self.by_key.contains_key("exited")
    }

    pub fn matches(&self, c: &ContainerSummary) -> bool {
        self.by_key.iter().all(|(k, vs)| {
            vs.iter().any(|v| match k.as_str() {
                "status" => v == c.status.as_str(),
                "name" => c.name.contains(v.trim_start_matches('/')),
                "id" => c.id.starts_with(v.as_str()),
                "ancestor" => {
                    c.image == *v
                        || c.image.split(':').next() == Some(v)
                        || c.image_id.trim_start_matches("sha256:").starts_with(v)
                        || c.image_id == *v
                }
                "exited" => {
                    c.status == Status::Exited
                        && c.exit_code.map(|e| e.to_string()).as_deref() == Some(v)
                }
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => c.labels.get(lk).is_some_and(|x| x == lv),
                    None => c.labels.contains_key(v.as_str()),
                },
                "network" => c.network_mode == *v,
                "volume" => c.mounts.iter().any(|m| m.name == *v || m.destination == *v),
                _ => false,
            })
        })
    }
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
            // docker's daemon quotes arguments holding a space.
            let args = args
                .into_iter()
                .map(|a| if a.contains(' ') { format!("'{a}'") } else { a });
            let command = std::iter::once(path).chain(args).collect::<Vec<_>>();
            let ports = self.container_ports(&c)?;
            out.push(ContainerSummary {
                ports,
                command: command.join(" "),
                image: c.definition.image_ref().to_string(),
                image_id: c.image_id.to_string(),
                created: parse_time(&c.created),
                status: c.state.status,
                exit_code: c.state.exit_code,
                started_at: c.state.started_at.as_deref().and_then(parse_time),
                finished_at: c.state.finished_at.as_deref().and_then(parse_time),
                health: c.state.health.as_ref().filter(|_| up).map(|h| h.status),
                labels: c.definition.config.labels.clone().unwrap_or_default(),
                network_mode: c.definition.host_config.network_mode.clone(),
                mounts: c.definition.mounts.clone(),
                id: c.id,
                name: c.name,
            });
        }
        Ok(out)
    }
}

//! The observed state: the engine's containers that carry the project's
//! label, as Compose reads them (`getContainers`).

use wharf_engine::containers::ContainerSummary;
use wharf_model::Status;

use super::labels;
use super::{RunResult, Runtime};

/// Which containers: services' own, `run`'s one-off ones, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneOff {
    Exclude,
    Only,
    Include,
}

/// One container of the project.
#[derive(Debug, Clone)]
pub struct ProjectContainer(pub ContainerSummary);

impl ProjectContainer {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.0.labels.get(key).map(String::as_str)
    }

    pub fn service(&self) -> &str {
        self.label(labels::SERVICE).unwrap_or_default()
    }

    pub fn number(&self) -> Option<u32> {
        container_number(&self.0.labels)
    }

    pub fn oneoff(&self) -> bool {
        self.label(labels::ONEOFF) == Some("True")
    }

    pub fn id(&self) -> &str {
        &self.0.id
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn status(&self) -> Status {
        self.0.status
    }

    pub fn running(&self) -> bool {
        self.0.status.is_running()
    }

    /// `Container NAME`, the id of its progress events.
    pub fn event_id(&self) -> String {
        super::progress::container_id(self.name())
    }
}

/// `com.docker.compose.container-number`.
pub fn container_number(labels: &std::collections::BTreeMap<String, String>) -> Option<u32> {
    labels.get(labels::CONTAINER_NUMBER)?.parse().ok()
}

impl Runtime<'_> {
    /// The project's containers (running or not), sorted by name.
    pub fn containers(&self, oneoff: OneOff) -> RunResult<Vec<ProjectContainer>> {
        let name = self.name();
        let mut out: Vec<ProjectContainer> = self
            .engine
            .list_containers(true)?
            .into_iter()
            .filter(|c| c.labels.get(labels::PROJECT).map(String::as_str) == Some(name))
            .map(ProjectContainer)
            .filter(|c| match oneoff {
                OneOff::Exclude => !c.oneoff(),
                OneOff::Only => c.oneoff(),
                OneOff::Include => true,
            })
            .collect();
        out.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(out)
    }

    /// Containers of services the project does not define (any more),
    /// and `run`'s one-off containers that have ended: Compose's
    /// `isOrphaned`, so `up` warns of those and `--remove-orphans`
    /// removes them (a running one-off one is left to its `run`).
    pub(crate) fn orphans<'a>(&self, all: &'a [ProjectContainer]) -> Vec<&'a ProjectContainer> {
        all.iter()
            .filter(|c| {
                if c.oneoff() {
                    return matches!(c.status(), Status::Exited | Status::Dead);
                }
                !self.project.services.contains_key(c.service())
                    && !self.disabled.iter().any(|d| d == c.service())
            })
            .collect()
    }
}

impl Runtime<'_> {
    /// The container a verb on one container acts on (`exec`, `port`,
    /// `cp`): replica `index`, else the lowest-numbered, one-off ones
    /// last (`getSpecifiedContainer`).
    pub fn one_container(&self, service: &str, index: Option<u32>) -> RunResult<ProjectContainer> {
        if !self.project.services.is_empty() && !self.project.services.contains_key(service) {
            return Err(super::error::invalid(format!("no such service: {service}")));
        }
        let mut found: Vec<ProjectContainer> = self
            .containers(OneOff::Include)?
            .into_iter()
            .filter(|c| c.service() == service && c.running())
            .filter(|c| index.is_none_or(|i| c.number() == Some(i)))
            .collect();
        found.sort_by_key(|c| (c.oneoff(), c.number().unwrap_or(0)));
        found.into_iter().next().ok_or_else(|| {
            super::error::invalid(match index {
                Some(i) => format!("service {service:?} is not running container #{i}"),
                None => format!("service {service:?} is not running"),
            })
        })
    }
}

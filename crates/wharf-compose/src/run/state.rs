//! The observed state: the engine's containers that carry the project's
//! label, as Compose reads them (`getContainers`).

use std::borrow::Cow;

use wharf_engine::containers::ContainerSummary;
use wharf_model::Status;

use super::labels;
use super::{RunResult, Runtime};
use crate::model::{Dependency, Project, Service};

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

    /// Whether it is of one of `services` (of any when there is none).
    pub fn of_any(&self, services: &[String]) -> bool {
        services.is_empty() || services.iter().any(|s| s == self.service())
    }

    /// `Container NAME`, the id of its progress events.
    pub fn event_id(&self) -> String {
        super::progress::container_id(self.name())
    }
}

/// The services a project known only by name has, as its containers'
/// labels describe them (Compose's `projectFromName`): one per service
/// label, with the dependencies its `depends_on` label records
/// (`name:condition:restart`), so verbs keep dependency order.
pub(crate) fn services_from_labels(
    containers: &[ProjectContainer],
) -> std::collections::BTreeMap<String, Service> {
    let mut services = std::collections::BTreeMap::new();
    for c in containers {
        services
            .entry(c.service().to_string())
            .or_insert_with(|| Service {
                image: c.0.image.clone(),
                depends_on: c
                    .label(labels::DEPENDS_ON)
                    .unwrap_or_default()
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(|d| {
                        let mut parts = d.split(':');
                        let name = parts.next().unwrap_or_default().to_string();
                        let dep = Dependency {
                            condition: parts.next().unwrap_or("service_started").to_string(),
                            // Without the field, Compose restarts it.
                            restart: parts.next().is_none_or(|r| r == "true"),
                            required: true,
                            ..Default::default()
                        };
                        (name, dep)
                    })
                    .collect(),
                ..Default::default()
            });
    }
    services
}

/// `containers` in the engine's listing order, newest first: the order
/// Compose meets them in (and prints them in, as `rm` does).
pub fn newest_first(containers: &mut [ProjectContainer]) {
    containers.sort_by_key(|c| std::cmp::Reverse(c.0.created));
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

    /// The project to order work by: the loaded one, or, known by name,
    /// the one `containers`' labels describe.
    pub(crate) fn ordering(&self, containers: &[ProjectContainer]) -> Cow<'_, Project> {
        if !self.project.services.is_empty() {
            return Cow::Borrowed(&self.project);
        }
        Cow::Owned(Project {
            name: self.project.name.clone(),
            services: services_from_labels(containers),
            ..Default::default()
        })
    }

    /// A project known by name takes the services its containers'
    /// labels describe, for the verbs that act per service (`start`,
    /// `restart`). `found`: whether having no container at all is an
    /// error (`start`'s, worded as Compose's).
    pub fn adopt_services(&mut self, found: bool) -> RunResult<()> {
        if !self.project.services.is_empty() || !self.config_files.is_empty() {
            return Ok(());
        }
        let containers = self.containers(OneOff::Exclude)?;
        if containers.is_empty() && found {
            return Err(super::error::invalid(format!(
                "no container found for project {:?}: not found",
                self.name()
            )));
        }
        self.project.services = services_from_labels(&containers);
        Ok(())
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
    /// last (`getSpecifiedContainer`; its index 0, the default, is none).
    pub fn one_container(&self, service: &str, index: Option<u32>) -> RunResult<ProjectContainer> {
        let index = index.filter(|i| *i > 0);
        self.check_services(&[service.to_string()])?;
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

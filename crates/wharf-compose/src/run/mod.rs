//! Running a project: Docker Compose v2's `up`, `down` and the other
//! verbs, natively, by calling the engine in process.
//!
//! A loaded [`Project`] is the desired state; the containers, networks
//! and volumes that carry the project's `com.docker.compose.*` labels are
//! the observed state (nothing else is kept, exactly as in Compose, so
//! both tools see the same project). [`Runtime::up`] converges one to the
//! other in dependency order: networks and volumes first, then per
//! service the containers to create, recreate (their config hash
//! changed), start or remove (scaled down), then the starts, each after
//! the services it depends on (and their conditions). Each step is
//! reported as a progress event with Compose's wording.

mod build;
mod convert;
mod down;
pub mod error;
mod hash;
pub mod labels;
mod logs;
mod oneoff;
mod order;
mod parallel;
pub mod progress;
mod resources;
mod state;
mod up;
mod verbs;

use std::collections::BTreeMap;

use wharf_engine::Engine;

pub use build::{BuildOptions, BuildPolicy};
// What a service's container is made with, for `kube generate`.
pub use convert::{
    healthcheck as service_healthcheck, image_name, ports as service_ports,
    resources as service_resources, restart_policy as service_restart_policy,
};
pub use down::DownOptions;
pub use error::{RunError, RunResult};
pub use hash::{network_hash, service_hash, volume_hash};
pub use logs::{log_source, AttachOptions, Cascade, Ended, LogOptions, LogSink};
pub use oneoff::{parse_publish, parse_volume, split_command, RunOptions};
pub use order::dependency_levels;
pub use parallel::set_limit as set_parallel_limit;
pub use progress::{Mode, Progress, Status};
pub use state::{container_number, newest_first, OneOff, ProjectContainer};
pub use up::{Recreate, UpOptions};

use crate::model::Project;
use crate::Loaded;

/// Whether a `COMPOSE_*` switch is on, read as Compose reads it
/// (`utils.StringToBool`, Go's `strconv.ParseBool`; anything else is off).
pub fn env_switch(value: Option<&str>) -> bool {
    matches!(value, Some("1" | "t" | "T" | "TRUE" | "true" | "True"))
}

impl Runtime<'_> {
    /// COMPOSE_IGNORE_ORPHANS, which Compose reads from the project's
    /// environment (`.env` included), not only the process's.
    pub fn ignore_orphans(&self) -> bool {
        env_switch(
            self.environment
                .get("COMPOSE_IGNORE_ORPHANS")
                .map(String::as_str),
        )
    }
}

/// A project to act on, with the engine that acts.
#[derive(Clone)]
pub struct Runtime<'e> {
    pub engine: &'e Engine,
    pub project: Project,
    /// The project's directory and files, for the labels.
    pub working_dir: String,
    pub config_files: Vec<String>,
    /// `--env-file`s given on the command line (a label when given).
    pub env_files: Vec<String>,
    /// Services profiles or the command line left out.
    pub disabled: Vec<String>,
    /// The project's environment (interpolation, build args).
    pub environment: std::collections::HashMap<String, String>,
}

impl<'e> Runtime<'e> {
    /// The runtime of a loaded project; `env_files`: the `--env-file`s
    /// the user gave.
    pub fn new(engine: &'e Engine, loaded: Loaded, env_files: Vec<String>) -> Runtime<'e> {
        Runtime {
            engine,
            project: loaded.project,
            working_dir: loaded.working_dir,
            config_files: loaded.config_files,
            env_files,
            disabled: loaded.disabled,
            environment: loaded.environment,
        }
    }

    /// A project known only by name (no compose file): what its labelled
    /// objects say it is (`down -p`, `ps -p`, `logs -p`).
    pub fn by_name(engine: &'e Engine, name: &str) -> Runtime<'e> {
        Runtime {
            engine,
            project: Project {
                name: name.to_string(),
                ..Default::default()
            },
            working_dir: String::new(),
            config_files: Vec::new(),
            env_files: Vec::new(),
            disabled: Vec::new(),
            environment: Default::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.project.name
    }

    /// The labels every container of `service` carries (Compose's
    /// `CustomLabels`, before the hash, number and image).
    fn custom_labels(&self, service: &str) -> BTreeMap<String, String> {
        let mut l = BTreeMap::new();
        l.insert(labels::PROJECT.into(), self.project.name.clone());
        l.insert(labels::SERVICE.into(), service.to_string());
        l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        l.insert(labels::WORKING_DIR.into(), self.working_dir.clone());
        l.insert(labels::CONFIG_FILES.into(), self.config_files.join(","));
        l.insert(labels::ONEOFF.into(), "False".into());
        if !self.env_files.is_empty() {
            l.insert(labels::ENVIRONMENT_FILE.into(), self.env_files.join(","));
        }
        l
    }

    /// The service named `name`, or Compose's error.
    fn service(&self, name: &str) -> RunResult<&crate::model::Service> {
        self.project
            .services
            .get(name)
            .ok_or_else(|| error::invalid(format!("no such service: {name}")))
    }
}

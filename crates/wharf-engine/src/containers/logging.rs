//! A container's log driver (`HostConfig.LogConfig`): its options checked
//! at create, resolved for the monitor at each start, and where `logs`
//! and `inspect` find the log.

use std::path::PathBuf;

use wharf_model::{ContainerRecord, Definition};
use wharf_runtime::logs::{AttrSources, LogFormat, LogOptions};
use wharf_runtime::monitor::ContainerDir;

use crate::{Engine, EngineError, EngineResult};

/// The writer's options of `d`'s log driver; `None` for `none`.
pub(crate) fn log_options(d: &Definition) -> EngineResult<Option<LogOptions>> {
    let c = &d.config;
    let labels = c.labels.clone().unwrap_or_default();
    let lc = &d.host_config.log_config;
    LogOptions::for_driver(
        &lc.kind,
        &lc.config,
        &AttrSources {
            labels: &labels,
            env: &c.env,
        },
    )
    .map_err(|e| EngineError::Invalid(e.to_string()))
}

/// Where a container's output is logged, for `logs`.
#[derive(Debug, Clone)]
pub struct ContainerLog {
    pub format: LogFormat,
    pub path: PathBuf,
}

impl Engine {
    /// The log of container `c`, or docker's error for a driver without
    /// one to read (`none`).
    pub fn container_log(&self, c: &ContainerRecord) -> EngineResult<ContainerLog> {
        let format = match log_options(&c.definition) {
            Ok(Some(o)) => o.format,
            Ok(None) => {
                return Err(EngineError::Invalid(
                    "configured logging driver does not support reading".into(),
                ))
            }
            Err(_) => LogFormat::JsonFile,
        };
        Ok(ContainerLog {
            format,
            path: ContainerDir::new(self.store.root(), &c.id).log_file(format),
        })
    }

    /// `inspect`'s `LogPath`: json-file's log only, once a start was
    /// tried (docker sets it when it starts logging).
    pub(crate) fn inspect_log_path(&self, c: &ContainerRecord) -> String {
        if c.state.started_at.is_none() && c.state.exit_code.is_none() {
            return String::new();
        }
        match c.definition.host_config.log_config.kind.as_str() {
            "" | "json-file" => ContainerDir::new(self.store.root(), &c.id)
                .log()
                .display()
                .to_string(),
            _ => String::new(),
        }
    }
}

//! `compose down` and the verbs that act on a project's existing
//! containers.

use std::io::Write;
use std::process::ExitCode;

use wharf_compose::run::{DownOptions, RunError, Runtime};

use super::Cx;
use crate::cli_compose::{
    ComposeDownArgs, ComposeKillArgs, ComposeRestartArgs, ComposeRmArgs, ComposeServicesArgs,
    ComposeStopArgs, ComposeWaitArgs,
};

impl Cx<'_> {
    /// `-p NAME`, unless empty.
    fn name_flag(&self) -> Option<&str> {
        self.args
            .project
            .project_name
            .as_deref()
            .filter(|n| !n.is_empty())
    }

    /// The project as Compose's `projectOrName` has it: with `-p` and no
    /// `-f`, known by name from its objects' labels (no file is read,
    /// so no service named is checked); else loaded with the `services`
    /// named (which enables those profiles left out, and refuses unknown
    /// ones), falling back to COMPOSE_PROJECT_NAME's project by name
    /// when the file does not load.
    pub(super) fn project_or_name<'e>(
        &self,
        engine: &'e wharf_engine::Engine,
        services: &[String],
    ) -> Result<Runtime<'e>, RunError> {
        if let Some(name) = self.name_flag() {
            if self.args.project.file.is_empty() {
                return Ok(by_name(engine, name));
            }
        }
        match self.load(services) {
            Ok(l) => Ok(self.runtime(engine, l)),
            Err(e) => match env_project_name() {
                Some(name) => Ok(by_name(engine, &name)),
                None => Err(e),
            },
        }
    }

    /// The project by name only, as Compose's `toProjectName` has it for
    /// `exec`, `cp`, `port`, `top` and `images`: `-p`, else
    /// COMPOSE_PROJECT_NAME, else the loaded project's name. Services are
    /// then found by their containers' labels, never checked against a
    /// file.
    pub(super) fn project_name_only<'e>(
        &self,
        engine: &'e wharf_engine::Engine,
    ) -> Result<Runtime<'e>, RunError> {
        if let Some(name) = self.name_flag() {
            return Ok(by_name(engine, name));
        }
        if let Some(name) = env_project_name() {
            return Ok(by_name(engine, &name));
        }
        let loaded = self.load(&[])?;
        Ok(by_name(engine, &loaded.project.name))
    }
}

/// A project known by name; Compose lowercases the name it is given.
fn by_name<'e>(engine: &'e wharf_engine::Engine, name: &str) -> Runtime<'e> {
    Runtime::by_name(engine, &name.to_lowercase())
}

/// COMPOSE_PROJECT_NAME from the process's environment (not `.env`).
fn env_project_name() -> Option<String> {
    std::env::var("COMPOSE_PROJECT_NAME")
        .ok()
        .filter(|n| !n.is_empty())
}

pub fn down(cx: &Cx, a: &ComposeDownArgs) -> Result<ExitCode, RunError> {
    if let Some(r) = &a.rmi {
        if r != "local" && r != "all" {
            return Err(RunError::Invalid(format!("invalid value for --rmi: {r:?}")));
        }
    }
    let engine = cx.engine()?;
    let mut rt = cx.project_or_name(&engine, &a.services)?;
    let opts = DownOptions {
        volumes: a.volumes,
        images: a.rmi.clone(),
        remove_orphans: a.remove_orphans || super::up::remove_orphans_env(),
        timeout: a.timeout,
        services: a.services.clone(),
    };
    let progress = cx.progress("Running");
    let result = rt.down(&opts, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn stop(cx: &Cx, a: &ComposeStopArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &a.services)?;
    let progress = cx.progress("Stopping");
    let result = rt.stop(&a.services, a.timeout, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn start(cx: &Cx, a: &ComposeServicesArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let mut rt = cx.project_or_name(&engine, &a.services)?;
    if rt.config_files.is_empty() {
        // Known by name: the services its containers' labels describe,
        // and Compose's `projectFromName` words an unknown one so.
        rt.adopt_services(true)?;
        if let Some(s) = a
            .services
            .iter()
            .find(|s| !rt.project.services.contains_key(*s))
        {
            return Err(RunError::Invalid(format!(
                "no such service: {s:?}: not found"
            )));
        }
    }
    let progress = cx.progress("Starting");
    let result = rt.start_services(&a.services, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn restart(cx: &Cx, a: &ComposeRestartArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let mut rt = cx.project_or_name(&engine, &a.services)?;
    // Known by name, the services are those the labels describe (none
    // at all is no error to `restart`, an unknown one is).
    rt.adopt_services(false)?;
    if a.no_deps {
        rt.only(&a.services);
    }
    let progress = cx.progress("Restarting");
    let result = rt.restart(&a.services, a.timeout, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn kill(cx: &Cx, a: &ComposeKillArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &a.services)?;
    let progress = cx.progress("Killing");
    let remove_orphans = a.remove_orphans || super::up::remove_orphans_env();
    let result = rt.kill(&a.services, &a.signal, remove_orphans, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn pause(cx: &Cx, a: &ComposeServicesArgs, pause: bool) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &a.services)?;
    let progress = cx.progress(if pause { "Pausing" } else { "Running" });
    let result = rt.pause(&a.services, pause, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn rm(cx: &Cx, a: &ComposeRmArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &a.services)?;
    if a.stop {
        let progress = cx.progress("Stopping");
        let result = rt.stop(&a.services, None, &*progress);
        progress.finish();
        result?;
    }
    let stopped = rt.stopped(&a.services)?;
    if stopped.is_empty() {
        eprintln!("No stopped containers");
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<&str> = stopped.iter().map(|c| c.name()).collect();
    let msg = format!("Going to remove {}", names.join(", "));
    if a.force {
        println!("{msg}");
    } else {
        eprint!("? {msg} (y/N) ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let progress = cx.progress("Removing");
    let result = rt.remove(&stopped, a.volumes, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn wait(cx: &Cx, a: &ComposeWaitArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let mut rt = cx.project_or_name(&engine, &[])?;
    let code = rt.wait(&a.services, &|c, code| {
        println!("container {:?} exited with status code {code}", c.id());
    })?;
    if a.down_project {
        let progress = cx.progress("Running");
        let opts = DownOptions {
            remove_orphans: true,
            ..Default::default()
        };
        let result = rt.down(&opts, &*progress);
        progress.finish();
        result?;
    }
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

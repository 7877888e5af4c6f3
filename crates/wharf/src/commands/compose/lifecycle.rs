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
    /// The project: loaded from its file, or — with `-p` and no file —
    /// known by name from its objects' labels (as Compose's `down`, `ps`,
    /// `logs`... do).
    pub(super) fn project_or_name<'e>(
        &self,
        engine: &'e wharf_engine::Engine,
        services: &[String],
    ) -> Result<Runtime<'e>, RunError> {
        match self.load(services) {
            Ok(l) => Ok(self.runtime(engine, l)),
            Err(RunError::Load(e)) if e.kind() == wharf_compose::ErrorKind::NotFound => {
                match &self.args.project.project_name {
                    Some(name) => Ok(Runtime::by_name(
                        engine,
                        &wharf_compose::normalize_project_name(name),
                    )),
                    None => Err(RunError::Load(e)),
                }
            }
            Err(e) => Err(e),
        }
    }
}

pub fn down(cx: &Cx, a: &ComposeDownArgs) -> Result<ExitCode, RunError> {
    if let Some(r) = &a.rmi {
        if r != "local" && r != "all" {
            return Err(RunError::Invalid(format!("invalid value for --rmi: {r:?}")));
        }
    }
    let engine = cx.engine()?;
    let mut rt = cx.project_or_name(&engine, &[])?;
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
    let rt = cx.project_or_name(&engine, &[])?;
    let progress = cx.progress("Stopping");
    let result = rt.stop(&a.services, a.timeout, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn start(cx: &Cx, a: &ComposeServicesArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.runtime(&engine, cx.load(&[])?);
    let progress = cx.progress("Starting");
    let result = rt.start_services(&a.services, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn restart(cx: &Cx, a: &ComposeRestartArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let mut rt = cx.project_or_name(&engine, &[])?;
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
    let rt = cx.project_or_name(&engine, &[])?;
    let progress = cx.progress("Killing");
    let remove_orphans = a.remove_orphans || super::up::remove_orphans_env();
    let result = rt.kill(&a.services, &a.signal, remove_orphans, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn pause(cx: &Cx, a: &ComposeServicesArgs, pause: bool) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &[])?;
    let progress = cx.progress(if pause { "Pausing" } else { "Running" });
    let result = rt.pause(&a.services, pause, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn rm(cx: &Cx, a: &ComposeRmArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &[])?;
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

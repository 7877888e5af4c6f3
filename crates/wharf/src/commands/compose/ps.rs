//! The listing verbs: `compose ps`, `images`, `ls`, `top`, `port`,
//! printed as Docker Compose prints them.

use std::collections::BTreeMap;
use std::process::ExitCode;

use chrono::Utc;
use serde_json::{json, Value};
use wharf_compose::run::{labels, OneOff, ProjectContainer, RunError, Runtime};
use wharf_format::{ellipsis, since};

use super::Cx;
use crate::cli_compose::{
    ComposeImagesArgs, ComposeLsArgs, ComposePortArgs, ComposePsArgs, ComposeServicesArgs,
};
use crate::commands::containers::ps_status;
use crate::commands::ports::displayable;
use crate::output::print_list;

const PS_TABLE: &str =
    "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}";
const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("Names", "NAMES"),
    ("Project", "PROJECT"),
    ("Service", "SERVICE"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Labels", "LABELS"),
    ("Health", "HEALTH"),
    ("ExitCode", "EXIT CODE"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
];

fn engine_err(e: wharf_engine::EngineError) -> RunError {
    RunError::Engine(e)
}

fn print_err(e: anyhow::Error) -> RunError {
    RunError::Invalid(e.to_string())
}

/// One container as `compose ps` shows it (Compose's `ContainerSummary`).
fn ps_row(rt: &Runtime, c: &ProjectContainer, trunc: bool) -> Result<Value, RunError> {
    let now = Utc::now();
    let s = &c.0;
    let command = if trunc {
        ellipsis(&s.command, 20)
    } else {
        s.command.clone()
    };
    let inspect = rt.engine.inspect_container(c.id()).map_err(engine_err)?;
    let mounts: Vec<String> = inspect
        .mounts
        .iter()
        .map(|m| {
            if m.name.is_empty() {
                m.source.clone()
            } else {
                m.name.clone()
            }
        })
        .collect();
    let local_volumes = inspect.mounts.iter().filter(|m| m.kind == "volume").count();
    let networks: Vec<String> = inspect.network_settings.networks.keys().cloned().collect();
    let publishers: Vec<Value> = s
        .ports
        .iter()
        .map(|p| {
            json!({
                "URL": p.ip.clone().unwrap_or_default(),
                "TargetPort": p.private,
                "PublishedPort": p.public.unwrap_or(0),
                "Protocol": p.proto,
            })
        })
        .collect();
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let health = match s.health {
        Some(wharf_model::HealthStatus::Healthy) => "healthy",
        Some(wharf_model::HealthStatus::Unhealthy) => "unhealthy",
        Some(wharf_model::HealthStatus::Starting) => "starting",
        _ => "",
    };
    Ok(json!({
        "Command": format!("{command:?}"),
        "CreatedAt": s
            .created
            .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
            .unwrap_or_default(),
        "ExitCode": s.exit_code.unwrap_or(0),
        "Health": health,
        "ID": if trunc { s.id[..12].to_string() } else { s.id.clone() },
        "Image": s.image,
        "Labels": labels.join(","),
        "LocalVolumes": local_volumes.to_string(),
        "Mounts": mounts.join(","),
        "Name": s.name,
        "Names": s.name,
        "Networks": networks.join(","),
        "Ports": displayable(&s.ports),
        "Project": c.label(labels::PROJECT).unwrap_or_default(),
        "Publishers": publishers,
        "RunningFor": s.created.map(|t| since(t, now)).unwrap_or_default(),
        "Service": c.service(),
        "Size": "0B",
        "State": s.status.as_str(),
        "Status": ps_status(s, now),
    }))
}

pub fn ps(cx: &Cx, a: &ComposePsArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &a.service)?;
    rt.check_services(&a.service)?;
    if let Some(f) = &a.filter {
        match f.split_once('=') {
            Some(("status", _)) => {}
            Some((k, _)) => return Err(RunError::Invalid(format!("unknown filter {k}"))),
            None => return Err(RunError::Invalid(format!("unknown filter {f}"))),
        }
    }
    let mut statuses = a.status.clone();
    if let Some((_, v)) = a.filter.as_deref().and_then(|f| f.split_once('=')) {
        statuses.push(v.to_string());
    }
    let all = a.all || !statuses.is_empty();
    let mut containers: Vec<ProjectContainer> = rt
        .containers(if all {
            OneOff::Include
        } else {
            OneOff::Exclude
        })?
        .into_iter()
        .filter(|c| all || c.running())
        .filter(|c| a.service.is_empty() || a.service.iter().any(|s| s == c.service()))
        .filter(|c| {
            a.orphans
                || rt.project.services.is_empty()
                || rt.project.services.contains_key(c.service())
        })
        .filter(|c| statuses.is_empty() || statuses.iter().any(|s| s == c.status().as_str()))
        .collect();
    containers.sort_by(|x, y| x.name().cmp(y.name()));
    if a.quiet {
        for c in &containers {
            println!("{}", c.id());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.services {
        let mut seen: Vec<&str> = Vec::new();
        for c in &containers {
            if !seen.contains(&c.service()) {
                seen.push(c.service());
            }
        }
        println!("{}", seen.join("\n"));
        return Ok(ExitCode::SUCCESS);
    }
    let trunc = !a.no_trunc;
    let rows = containers
        .iter()
        .map(|c| ps_row(&rt, c, trunc))
        .collect::<Result<Vec<_>, _>>()?;
    print_list(Some(&a.format), PS_TABLE, PS_HEADERS, &rows).map_err(print_err)?;
    Ok(ExitCode::SUCCESS)
}

/// Compose's own tables (`formatter.PrintPrettySection`): wider columns
/// than docker's.
fn pretty_section(headers: &[&str], rows: &[Vec<String>]) {
    let mut text = headers.join("\t");
    text.push('\n');
    for r in rows {
        text.push_str(&r.join("\t"));
        text.push('\n');
    }
    let tw = wharf_format::TabWriter {
        minwidth: 20,
        tabwidth: 1,
        padding: 3,
        padchar: ' ',
    };
    print!("{}", tw.format(&text));
}

pub fn images(cx: &Cx, a: &ComposeImagesArgs) -> Result<ExitCode, RunError> {
    if a.format != "table" && a.format != "json" {
        return Err(RunError::Invalid(format!(
            "format value {:?} could not be parsed: parsing failed",
            a.format
        )));
    }
    let engine = cx.engine()?;
    let rt = cx.project_name_only(&engine)?;
    let mut containers = rt.service_containers(&a.services, None)?;
    containers.sort_by(|x, y| x.name().cmp(y.name()));
    let images = engine
        .list_images(&Default::default())
        .map_err(engine_err)?;
    let now = Utc::now();
    let mut table = Vec::new();
    let mut json_rows = Vec::new();
    let mut ids = Vec::new();
    for c in &containers {
        let inspect = engine.inspect_container(c.id()).map_err(engine_err)?;
        let id = inspect.image.clone();
        let found = images.iter().find(|i| i.id.to_string() == id);
        let (repo, tag) = match c.0.image.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((r, t)) => (r.to_string(), t.to_string()),
            None => (c.0.image.clone(), "latest".to_string()),
        };
        let size = found.map(|i| i.size).unwrap_or(0);
        let created = found.and_then(|i| i.created);
        let short = id.strip_prefix("sha256:").unwrap_or(&id);
        ids.push(short.to_string());
        table.push(vec![
            c.name().to_string(),
            repo.clone(),
            tag.clone(),
            "linux/amd64".to_string(),
            short[..12.min(short.len())].to_string(),
            wharf_format::human_size_with_precision(size as f64, 3),
            created.map(|t| since(t, now)).unwrap_or_default(),
        ]);
        json_rows.push(json!({
            "ID": id,
            "ContainerName": c.name(),
            "Repository": repo,
            "Tag": tag,
            "Platform": "linux/amd64",
            "Size": size,
            "LastTagTime": created
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        }));
    }
    if a.quiet {
        ids.sort();
        ids.dedup();
        for i in ids {
            println!("{i}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.format == "json" {
        println!("{}", serde_json::to_string(&json_rows).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    pretty_section(
        &[
            "CONTAINER",
            "REPOSITORY",
            "TAG",
            "PLATFORM",
            "IMAGE ID",
            "SIZE",
            "CREATED",
        ],
        &table,
    );
    Ok(ExitCode::SUCCESS)
}

/// `compose ls`: the projects the engine's containers carry labels of.
pub fn ls(cx: &Cx, a: &ComposeLsArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, Vec<String>)> = BTreeMap::new();
    for c in engine.list_containers(true).map_err(engine_err)? {
        let Some(p) = c.labels.get(labels::PROJECT) else {
            continue;
        };
        let entry = projects.entry(p.clone()).or_default();
        *entry.0.entry(c.status.as_str().to_string()).or_default() += 1;
        if let Some(files) = c.labels.get(labels::CONFIG_FILES) {
            for f in files.split(',') {
                if !entry.1.iter().any(|x| x == f) {
                    entry.1.push(f.to_string());
                }
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    for f in &a.filter {
        match f.split_once('=') {
            Some(("name", v)) => names.push(v.to_string()),
            _ => return Err(RunError::Invalid(format!("invalid filter '{f}'"))),
        }
    }
    let mut rows = Vec::new();
    for (name, (states, files)) in &projects {
        if !a.all && !states.contains_key("running") {
            continue;
        }
        if !names.is_empty() && !names.iter().any(|n| name.contains(n.as_str())) {
            continue;
        }
        let status: Vec<String> = states.iter().map(|(s, n)| format!("{s}({n})")).collect();
        rows.push(json!({
            "Name": name,
            "Status": status.join(", "),
            "ConfigFiles": files.join(","),
        }));
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["Name"].as_str().unwrap_or_default());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.format == "json" {
        println!("{}", serde_json::to_string(&rows).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            ["Name", "Status", "ConfigFiles"]
                .iter()
                .map(|k| r[*k].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect();
    pretty_section(&["NAME", "STATUS", "CONFIG FILES"], &table);
    Ok(ExitCode::SUCCESS)
}

/// `compose top`: one table of every running container's processes,
/// with its service and replica first (Compose's `topPrint`).
pub fn top(cx: &Cx, a: &ComposeServicesArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_name_only(&engine)?;
    let mut containers: Vec<ProjectContainer> = rt
        .service_containers(&a.services, None)?
        .into_iter()
        .filter(|c| c.running())
        .collect();
    containers.sort_by(|x, y| x.name().cmp(y.name()));
    let mut text = String::new();
    for c in &containers {
        let (header, rows) = engine.container_top(c.id(), &[]).map_err(engine_err)?;
        let titles: Vec<&str> = header.split_whitespace().collect();
        if text.is_empty() {
            text.push_str(&format!("SERVICE\t#\t{}\n", titles.join("\t")));
        }
        for r in rows {
            // Every column one word, but the last (the command) the rest.
            let mut cells = Vec::new();
            let mut rest = r.trim_start();
            for _ in 0..titles.len().saturating_sub(1) {
                let (cell, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                cells.push(cell.to_string());
                rest = tail.trim_start();
            }
            cells.push(rest.to_string());
            text.push_str(&format!(
                "{}\t{}\t{}\n",
                c.service(),
                c.number().unwrap_or(0),
                cells.join("\t")
            ));
        }
    }
    let tw = wharf_format::TabWriter {
        minwidth: 4,
        tabwidth: 1,
        padding: 2,
        padchar: ' ',
    };
    print!("{}", tw.format(&text));
    Ok(ExitCode::SUCCESS)
}

/// `compose port SERVICE PRIVATE_PORT`: the host address it is published on.
pub fn port(cx: &Cx, a: &ComposePortArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_name_only(&engine)?;
    let c = rt.one_container(&a.service, a.index)?;
    // The first of the container's ports that matches, published or
    // not (Compose prints `:0` for one only exposed).
    let found =
        c.0.ports
            .iter()
            .find(|p| p.private == a.private_port && p.proto == a.protocol);
    match found {
        Some(p) => {
            let ip = match (&p.ip, p.public) {
                (Some(ip), _) => ip.as_str(),
                (None, Some(_)) => "0.0.0.0",
                (None, None) => "",
            };
            println!("{ip}:{}", p.public.unwrap_or(0));
            Ok(ExitCode::SUCCESS)
        }
        // Compose's `portNotFoundError`: the ports the container has,
        // as public port and protocol.
        None => {
            let have: Vec<String> =
                c.0.ports
                    .iter()
                    .map(|p| format!("{}/{}", p.public.unwrap_or(0), p.proto))
                    .collect();
            Err(RunError::Invalid(format!(
                "no port {}/{} for container {}: {}",
                a.private_port,
                a.protocol,
                c.name(),
                have.join(", ")
            )))
        }
    }
}

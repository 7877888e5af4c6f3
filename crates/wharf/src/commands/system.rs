//! `system df`, `system prune`, `system check`.

use std::process::ExitCode;

use serde_json::json;
use wharf_engine::system::UsageRow;
use wharf_engine::Engine;
use wharf_format::human_size;

use crate::cli::{CheckArgs, DfArgs, SystemPruneArgs};
use crate::output::{confirm, print_list};

const DF_TABLE: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const DF_HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

fn row(kind: &str, u: &UsageRow, with_percent: bool) -> serde_json::Value {
    let mut reclaimable = human_size(u.reclaimable as f64);
    if with_percent && u.size > 0 {
        reclaimable = format!("{reclaimable} ({}%)", u.reclaimable * 100 / u.size);
    }
    json!({
        "Active": u.active.to_string(),
        "Reclaimable": reclaimable,
        "Size": human_size(u.size as f64),
        "TotalCount": u.total.to_string(),
        "Type": kind,
    })
}

pub fn df(engine: &Engine, a: DfArgs) -> anyhow::Result<ExitCode> {
    let u = engine.disk_usage()?;
    let rows = vec![
        row("Images", &u.images, true),
        row("Containers", &u.containers, true),
        row("Local Volumes", &u.volumes, true),
        row("Build Cache", &u.build_cache, false),
    ];
    print_list(a.format.as_deref(), DF_TABLE, DF_HEADERS, &rows)?;
    Ok(ExitCode::SUCCESS)
}

/// `docker system prune`: stopped containers, unused networks, dangling
/// (with `-a` unused) images, printed as docker does.
pub fn prune(engine: &Engine, a: SystemPruneArgs) -> anyhow::Result<ExitCode> {
    let images = if a.all {
        "  - all images without at least one container associated to them"
    } else {
        "  - all dangling images"
    };
    let warning = format!(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n{images}\n  - all dangling build cache\n"
    );
    if !a.force && !confirm(&warning) {
        return Ok(ExitCode::SUCCESS);
    }
    let containers = engine.prune_containers(|_| true)?;
    if !containers.deleted.is_empty() {
        println!("Deleted Containers:");
        for id in &containers.deleted {
            println!("{id}");
        }
        println!();
    }
    let networks = engine.prune_networks()?;
    engine.networking()?.prune_idle()?;
    if !networks.is_empty() {
        println!("Deleted Networks:");
        for n in networks {
            println!("{n}");
        }
        println!();
    }
    let report = engine.prune_images(a.all)?;
    if !report.events.is_empty() {
        println!("Deleted Images:");
        super::images::print_events(&report.events, true);
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size((report.reclaimed + containers.reclaimed) as f64)
    );
    Ok(ExitCode::SUCCESS)
}

/// `wharf system check [--repair]`: one line per finding (`error:` or
/// `leftover:`, the object, what is wrong; `repaired` after those fixed),
/// then a summary. Exits 1 while any problem remains.
pub fn check(engine: &Engine, a: CheckArgs) -> anyhow::Result<ExitCode> {
    let findings = engine.system_check(a.repair)?;
    if findings.is_empty() {
        println!("No problems found");
        return Ok(ExitCode::SUCCESS);
    }
    for f in &findings {
        if f.repaired {
            println!("{f} (repaired)");
        } else {
            println!("{f}");
        }
    }
    let remaining = findings.iter().filter(|f| !f.repaired).count();
    let repaired = findings.len() - remaining;
    let mut summary = format!(
        "{} problem{} found",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    if a.repair {
        summary.push_str(&format!(", {repaired} repaired, {remaining} remaining"));
    } else {
        summary.push_str("; `wharf system check --repair` fixes what it can");
    }
    println!("{summary}");
    Ok(if remaining == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! `system df`.

use std::process::ExitCode;

use serde_json::json;
use wharf_engine::system::UsageRow;
use wharf_engine::Engine;
use wharf_format::human_size;

use crate::cli::DfArgs;
use crate::output::print_list;

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

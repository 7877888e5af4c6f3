//! `volume create`, `ls`, `inspect`, `rm`, `prune`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::json;
use wharf_engine::volumes::VolumeCreate;
use wharf_engine::volumes::VolumeRecord;
use wharf_engine::{Engine, ErrorKind};
use wharf_format::human_size;

use super::prune_filter::{has_label, PruneFilter};
use crate::cli::{
    VolumeCreateArgs, VolumeInspectArgs, VolumeLsArgs, VolumePruneArgs, VolumeRmArgs,
};
use crate::exit::fail;
use crate::output::{confirm, print_inspect, print_list};

/// `key=value` (or `key`, an empty value) options into a map.
fn key_values(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|i| {
            let (k, v) = i.split_once('=').unwrap_or((i, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

pub fn create(engine: &Engine, a: VolumeCreateArgs) -> anyhow::Result<ExitCode> {
    if a.name.is_some() && a.volume.is_some() {
        return Err(fail(
            "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
        ));
    }
    let name = engine.create_volume(&VolumeCreate {
        name: a.name.or(a.volume),
        driver: Some(a.driver),
        labels: key_values(&a.label),
        options: key_values(&a.opt),
    })?;
    println!("{name}");
    Ok(ExitCode::SUCCESS)
}

const LS_TABLE: &str = "table {{.Driver}}\t{{.Name}}";
const LS_HEADERS: &[(&str, &str)] = &[
    ("Driver", "DRIVER"),
    ("Name", "VOLUME NAME"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
];

pub fn list(engine: &Engine, a: VolumeLsArgs) -> anyhow::Result<ExitCode> {
    // docker's filters: values of one key OR, different keys AND.
    let mut filters: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in &a.filter {
        match f.split_once('=') {
            Some(("dangling", v)) if !matches!(v, "true" | "false" | "1" | "0") => {
                return Err(fail(format!("invalid filter 'dangling={v}'")))
            }
            Some((k @ ("dangling" | "name" | "label" | "driver"), v)) => {
                filters.entry(k).or_default().push(v)
            }
            _ => {
                return Err(fail(format!(
                    "Invalid filter '{}'",
                    f.split('=').next().unwrap_or(f)
                )))
            }
        }
    }
    let rows: Vec<_> = engine
        .list_volumes()?
        .into_iter()
        .filter(|v| {
            filters.iter().all(|(k, vs)| {
                vs.iter().any(|want| match *k {
                    "dangling" => (v.containers == 0) == matches!(*want, "true" | "1"),
                    "name" => v.record.name.contains(want),
                    "label" => has_label(&v.record.labels, want),
                    "driver" => v.record.driver == *want,
                    _ => false,
                })
            })
        })
        .collect();
    if a.quiet {
        for v in &rows {
            println!("{}", v.record.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let items: Vec<_> = rows
        .iter()
        .map(|v| {
            let labels: Vec<String> = v
                .record
                .labels
                .iter()
                .map(|(k, val)| format!("{k}={val}"))
                .collect();
            json!({
                "Availability": "N/A",
                "Driver": v.record.driver,
                "Group": "N/A",
                "Labels": labels.join(","),
                "Links": "N/A",
                "Mountpoint": v.mountpoint,
                "Name": v.record.name,
                "Scope": "local",
                "Size": "N/A",
                "Status": "N/A",
            })
        })
        .collect();
    print_list(a.format.as_deref(), LS_TABLE, LS_HEADERS, &items)?;
    Ok(ExitCode::SUCCESS)
}

pub fn inspect(engine: &Engine, a: VolumeInspectArgs) -> anyhow::Result<ExitCode> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.volumes {
        match engine.inspect_volume(name) {
            Ok(v) => found.push(v),
            Err(e) if e.kind() == ErrorKind::NotFound => errors.push(e.to_string()),
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

pub fn remove(engine: &Engine, a: VolumeRmArgs) -> anyhow::Result<ExitCode> {
    let mut errors = Vec::new();
    for name in &a.volumes {
        match engine.remove_volume(name, a.force) {
            Ok(()) => println!("{name}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(fail(errors.join("\n")))
    }
}

pub fn prune(engine: &Engine, a: VolumePruneArgs) -> anyhow::Result<ExitCode> {
    let filter = PruneFilter::parse(&a.filter, false)?;
    let keep = move |v: &VolumeRecord| !filter.selects(&v.labels, None);
    if !a.force
        && !confirm(
            "WARNING! This will remove all local volumes not used by at least one container.",
        )
    {
        return Ok(ExitCode::SUCCESS);
    }
    let report = engine.prune_volumes(keep)?;
    if !report.deleted.is_empty() {
        println!("Deleted Volumes:");
        for name in &report.deleted {
            println!("{name}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size(report.reclaimed as f64)
    );
    Ok(ExitCode::SUCCESS)
}

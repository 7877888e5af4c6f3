//! `images`, `tag`, `rmi`, `history`, `image prune`.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;
use wharf_engine::images::{ImageFilter, RemoveEvent};
use wharf_engine::Engine;
use wharf_format::{ellipsis, human_size, since, truncate_id};

use crate::cli::{HistoryArgs, ImagesArgs, PruneArgs, RmiArgs, TagArgs};
use crate::exit::fail;
use crate::output::{confirm, print_list};

const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const IMAGES_TABLE_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const IMAGES_HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("ID", "IMAGE ID"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

/// Go's `time.Time.String()` in UTC, which docker uses for `CreatedAt`.
fn go_time_string(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()
}

fn image_id(id: &wharf_engine::Digest, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        truncate_id(&id.to_string()).to_string()
    }
}

pub fn list(engine: &Engine, a: ImagesArgs) -> anyhow::Result<ExitCode> {
    let mut filter = ImageFilter {
        all: a.all,
        ..Default::default()
    };
    for f in &a.filter {
        filter.add(f)?;
    }
    if let Some(r) = a.reference {
        filter.references.push(r);
    }
    let images = engine.list_images(&filter)?;
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for img in images.iter().filter(|i| seen.insert(i.id.clone())) {
            println!("{}", image_id(&img.id, a.no_trunc));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let now = Utc::now();
    let rows: Vec<_> = images
        .iter()
        .map(|i| {
            json!({
                "Containers": "N/A",
                "CreatedAt": i.created.map(go_time_string).unwrap_or_default(),
                "CreatedSince": i.created.map(|c| since(c, now)).unwrap_or_else(|| "N/A".into()),
                "Digest": i.digest.clone().unwrap_or_else(|| "<none>".into()),
                "ID": image_id(&i.id, a.no_trunc),
                "Repository": i.repository.clone().unwrap_or_else(|| "<none>".into()),
                "SharedSize": "N/A",
                "Size": human_size(i.size as f64),
                "Tag": i.tag.clone().unwrap_or_else(|| "<none>".into()),
                "UniqueSize": "N/A",
                "VirtualSize": human_size(i.size as f64),
            })
        })
        .collect();
    let default = if a.digests {
        IMAGES_TABLE_DIGESTS
    } else {
        IMAGES_TABLE
    };
    print_list(a.format.as_deref(), default, IMAGES_HEADERS, &rows)?;
    Ok(ExitCode::SUCCESS)
}

pub fn tag(engine: &Engine, a: TagArgs) -> anyhow::Result<ExitCode> {
    engine.tag_image(&a.source, &a.target)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_events(events: &[RemoveEvent], lower: bool) {
    for e in events {
        let (word, what) = match e {
            RemoveEvent::Untagged(t) => ("Untagged", t.clone()),
            RemoveEvent::Deleted(d) => ("Deleted", d.to_string()),
        };
        let word = if lower {
            word.to_lowercase()
        } else {
            word.to_string()
        };
        println!("{word}: {what}");
    }
}

/// Like docker: try every image, report each failure, fail at the end.
pub fn remove(engine: &Engine, a: RmiArgs) -> anyhow::Result<ExitCode> {
    let mut errors = Vec::new();
    for name in &a.images {
        match engine.remove_image(name, a.force) {
            Ok(events) => print_events(&events, false),
            Err(e) if a.force && e.kind() == wharf_engine::ErrorKind::NotFound => {
                super::containers::forced_missing(&e);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(fail(errors.join("\n")))
    }
}

pub fn prune(engine: &Engine, a: PruneArgs) -> anyhow::Result<ExitCode> {
    if !a.filter.is_empty() {
        return Err(fail("image prune filters are not supported yet"));
    }
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !a.force && !confirm(warning) {
        return Ok(ExitCode::SUCCESS);
    }
    let report = engine.prune_images(a.all)?;
    if !report.events.is_empty() {
        println!("Deleted Images:");
        print_events(&report.events, true);
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        human_size(report.reclaimed as f64)
    );
    Ok(ExitCode::SUCCESS)
}

const HISTORY_TABLE: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub fn history(engine: &Engine, a: HistoryArgs) -> anyhow::Result<ExitCode> {
    let entries = engine.image_history(&a.image)?;
    let id = |e: &wharf_engine::images::HistoryEntry| match &e.id {
        Some(d) => image_id(d, a.no_trunc),
        None => "<missing>".to_string(),
    };
    if a.quiet {
        for e in &entries {
            println!("{}", id(e));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let now = Utc::now();
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            let created_by = e.created_by.replace('\t', " ");
            let rfc3339 = e.created.map(|c| c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default();
            json!({
                "Comment": e.comment,
                "CreatedAt": rfc3339,
                "CreatedBy": if a.no_trunc { created_by } else { ellipsis(&created_by, 45) },
                "CreatedSince": if a.human { e.created.map(|c| since(c, now)).unwrap_or_else(|| "N/A".into()) } else { rfc3339.clone() },
                "ID": id(e),
                "Size": if a.human { human_size(e.size as f64) } else { e.size.to_string() },
            })
        })
        .collect();
    print_list(a.format.as_deref(), HISTORY_TABLE, HISTORY_HEADERS, &rows)?;
    Ok(ExitCode::SUCCESS)
}

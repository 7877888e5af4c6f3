//! `restart` and `container prune`.

use std::process::ExitCode;

use wharf_engine::Engine;
use wharf_format::human_size;

use super::containers::each;
use super::prune_filter::PruneFilter;
use crate::cli::{ContainerPruneArgs, StopArgs};
use crate::output::confirm;

/// `docker restart [-t N]`: prints each name as given.
pub fn restart(engine: &Engine, a: StopArgs) -> anyhow::Result<ExitCode> {
    each(&a.containers, |n| {
        engine
            .restart_container(n, a.time, a.signal.as_deref())
            .map(|_| Some(n.to_string()))
    })
}

/// `docker container prune [--filter until=|label=] [-f]`.
pub fn prune(engine: &Engine, a: ContainerPruneArgs) -> anyhow::Result<ExitCode> {
    let filter = PruneFilter::parse(&a.filter, true)?;
    // Declined, docker's CLI still reports what it reclaimed: nothing.
    let confirmed = a.force || confirm("WARNING! This will remove all stopped containers.");
    let mut reclaimed = 0;
    if confirmed {
        let report = engine.prune_containers(|c| filter.selects(&c.labels, c.created))?;
        if !report.deleted.is_empty() {
            println!("Deleted Containers:");
            for id in &report.deleted {
                println!("{id}");
            }
            println!();
        }
        reclaimed = report.reclaimed;
    }
    println!("Total reclaimed space: {}", human_size(reclaimed as f64));
    Ok(ExitCode::SUCCESS)
}

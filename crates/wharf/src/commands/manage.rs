//! `restart`, `update` and `container prune`. Their refusals exit 1, as
//! docker 20.10's CLI exits on an error of the daemon (bad flag values
//! are the CLI's own: 125).

use std::process::ExitCode;

use wharf_engine::Engine;
use wharf_format::human_size;

use super::containers::each;
use super::create_opts::{memory_swap_flag, size_flag};
use super::prune_filter::PruneFilter;
use crate::cli::{ContainerPruneArgs, StopArgs, UpdateArgs};
use crate::exit::fail_with;
use crate::output::confirm;

/// Docker's exit code for an error the daemon answers.
const DAEMON_ERROR: u8 = 1;

fn daemon_error(e: anyhow::Error) -> anyhow::Error {
    fail_with(e.to_string(), DAEMON_ERROR)
}

/// `docker restart [-t N]`: prints each name as given.
pub fn restart(engine: &Engine, a: StopArgs) -> anyhow::Result<ExitCode> {
    each(&a.containers, |n| {
        engine
            .restart_container(n, a.time, a.signal.as_deref())
            .map(|_| Some(n.to_string()))
    })
    .map_err(daemon_error)
}

/// `docker container prune [--filter until=|label=] [-f]`.
pub fn prune(engine: &Engine, a: ContainerPruneArgs) -> anyhow::Result<ExitCode> {
    let filter = PruneFilter::parse(&a.filter, true).map_err(daemon_error)?;
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

/// `docker update`: the flags given as docker's `UpdateConfig`, then each
/// container (its name printed, or its error at the end).
pub fn update(engine: &Engine, a: UpdateArgs) -> anyhow::Result<ExitCode> {
    let restart_policy = a
        .restart
        .as_deref()
        .map(wharf_model::RestartPolicy::parse)
        .transpose()
        .map_err(|e| fail_with(e.to_string(), DAEMON_ERROR))?;
    let update = wharf_model::UpdateConfig {
        resources: wharf_model::Resources {
            blkio_weight: a.blkio_weight.unwrap_or(0),
            cpu_period: a.cpu_period.unwrap_or(0),
            cpu_quota: a.cpu_quota.unwrap_or(0),
            cpu_shares: a.cpu_shares.unwrap_or(0),
            nano_cpus: a.cpus.map_or(0, |c| (c * 1e9).round() as i64),
            cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
            cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
            memory: size_flag(&a.memory, "-m, --memory")?,
            memory_reservation: size_flag(&a.memory_reservation, "--memory-reservation")?,
            memory_swap: memory_swap_flag(&a.memory_swap)?,
            pids_limit: a.pids_limit,
            ..Default::default()
        },
        restart_policy,
    };
    if update.is_empty() {
        return Err(fail_with(
            "you must provide one or more flags when using this command",
            DAEMON_ERROR,
        ));
    }
    each(&a.containers, |n| {
        let warnings = engine.update_container(n, &update)?;
        for w in warnings {
            eprintln!("{w}");
        }
        Ok(Some(n.to_string()))
    })
    .map_err(daemon_error)
}

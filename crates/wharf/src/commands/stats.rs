//! `top` and `stats`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use wharf_engine::Engine;
use wharf_format::bytes_size;

use crate::cli::{StatsArgs, TopArgs};
use crate::output::print_list;

pub fn top(engine: &Engine, a: TopArgs) -> anyhow::Result<ExitCode> {
    let (header, rows) = engine.container_top(&a.container, &a.ps_args)?;
    println!("{header}");
    for r in rows {
        println!("{r}");
    }
    Ok(ExitCode::SUCCESS)
}

const STATS_TABLE: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const STATS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// One snapshot of every selected container: CPU % over a short window.
fn sample(
    engine: &Engine,
    names: &[(String, String)],
    no_trunc: bool,
) -> anyhow::Result<Vec<serde_json::Value>> {
    const WINDOW: Duration = Duration::from_millis(200);
    let before: Vec<_> = names
        .iter()
        .map(|(id, _)| engine.container_usage(id).ok())
        .collect();
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let elapsed = t0.elapsed().as_nanos() as f64;
    let host_mem = host_memory();
    let mut rows = Vec::new();
    for ((id, name), b) in names.iter().zip(before) {
        let Ok(after) = engine.container_usage(id) else {
            continue;
        };
        let cpu = b
            .map(|b| (after.cpu_ns.saturating_sub(b.cpu_ns)) as f64 / elapsed * 100.0)
            .unwrap_or(0.0);
        let limit = after.memory_limit.unwrap_or(host_mem);
        let mem_perc = if limit > 0 {
            after.memory as f64 / limit as f64 * 100.0
        } else {
            0.0
        };
        rows.push(json!({
            "BlockIO": "0B / 0B",
            "CPUPerc": format!("{cpu:.2}%"),
            "Container": if no_trunc { id.clone() } else { id[..12].to_string() },
            "ID": if no_trunc { id.clone() } else { id[..12].to_string() },
            "MemPerc": format!("{mem_perc:.2}%"),
            "MemUsage": format!("{} / {}", bytes_size(after.memory as f64), bytes_size(limit as f64)),
            "Name": name,
            "NetIO": "0B / 0B",
            "PIDs": after.pids.to_string(),
        }));
    }
    Ok(rows)
}

pub fn stats(engine: &Engine, a: StatsArgs) -> anyhow::Result<ExitCode> {
    let names: Vec<(String, String)> = if a.containers.is_empty() {
        engine
            .list_containers(a.all)?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        a.containers
            .iter()
            .map(|n| engine.find_container(n).map(|c| (c.id, c.name)))
            .collect::<Result<_, _>>()?
    };
    loop {
        let rows = sample(engine, &names, a.no_trunc)?;
        if !a.no_stream {
            // Redraw in place, as docker's live view does.
            print!("\x1b[2J\x1b[H");
        }
        print_list(a.format.as_deref(), STATS_TABLE, STATS_HEADERS, &rows)?;
        if a.no_stream {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(800));
    }
}

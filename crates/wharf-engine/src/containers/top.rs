//! `docker top` and `docker stats --no-stream`: what the container's
//! cgroup says about its processes and usage.

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use crate::{Engine, EngineError, EngineResult};

/// A controller's directory for the container (its cgroup `path`,
/// `<parent>/<id>`), on v1, v2 or hybrid hosts.
fn cgroup_dir(controller: &str, path: &str) -> Option<PathBuf> {
    let path = path.trim_start_matches('/');
    [
        format!("/sys/fs/cgroup/{controller}/{path}"),
        format!("/sys/fs/cgroup/{path}"),
        format!("/sys/fs/cgroup/unified/{path}"),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.join("cgroup.procs").exists())
}

fn read_u64(p: PathBuf) -> Option<u64> {
    fs::read_to_string(p)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `docker stats` numbers for one container.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub memory: u64,
    pub memory_limit: Option<u64>,
    /// Total CPU time used, in nanoseconds.
    pub cpu_ns: u64,
    pub pids: u64,
}

impl Engine {
    /// A running container's ID and cgroup path (`<parent>/<id>`).
    fn running_id(&self, name: &str) -> EngineResult<(String, String)> {
        let c = self.refresh(self.find_container(name)?)?;
        if !c.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let path = wharf_runtime::spec::cgroups_path(
            super::cgroup_parent(&c.definition.host_config),
            &c.id,
        );
        Ok((c.id, path.display().to_string()))
    }

    /// PIDs (host namespace) of the container's processes.
    pub fn container_pids(&self, name: &str) -> EngineResult<Vec<i32>> {
        let (id, path) = self.running_id(name)?;
        let dir = cgroup_dir("pids", &path)
            .or_else(|| cgroup_dir("memory", &path))
            .ok_or_else(|| EngineError::NotFound(format!("no cgroup found for container {id}")))?;
        let procs = fs::read_to_string(dir.join("cgroup.procs"))
            .map_err(|e| EngineError::io("reading cgroup.procs", e))?;
        Ok(procs
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect())
    }

    /// `docker top`: host `ps` output (header and the container's rows).
    pub fn container_top(
        &self,
        name: &str,
        ps_args: &[String],
    ) -> EngineResult<(String, Vec<String>)> {
        let pids: HashSet<String> = self
            .container_pids(name)?
            .iter()
            .map(|p| p.to_string())
            .collect();
        let args: Vec<String> = if ps_args.is_empty() {
            vec!["-ef".into()]
        } else {
            ps_args.to_vec()
        };
        let out = std::process::Command::new("ps")
            .args(&args)
            .output()
            .map_err(|e| EngineError::io("running ps", e))?;
        if !out.status.success() {
            return Err(EngineError::Invalid(format!(
                "ps: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().to_string();
        let pid_col = header
            .split_whitespace()
            .position(|h| h == "PID")
            .ok_or_else(|| EngineError::Invalid("Couldn't find PID field in ps output".into()))?;
        let rows = lines
            .filter(|l| {
                l.split_whitespace()
                    .nth(pid_col)
                    .is_some_and(|p| pids.contains(p))
            })
            .map(str::to_string)
            .collect();
        Ok((header, rows))
    }

    pub fn container_usage(&self, name: &str) -> EngineResult<Usage> {
        let (_, path) = self.running_id(name)?;
        let memory = cgroup_dir("memory", &path);
        let mem_usage = memory.as_ref().and_then(|d| {
            read_u64(d.join("memory.usage_in_bytes")).or_else(|| read_u64(d.join("memory.current")))
        });
        // v1 reports "no limit" as a huge page-aligned number.
        let limit = memory
            .as_ref()
            .and_then(|d| {
                read_u64(d.join("memory.limit_in_bytes")).or_else(|| read_u64(d.join("memory.max")))
            })
            .filter(|l| *l < (1 << 62));
        let cpu_ns = cgroup_dir("cpuacct", &path)
            .and_then(|d| read_u64(d.join("cpuacct.usage")))
            .or_else(|| {
                let d = cgroup_dir("cpu", &path)?;
                let stat = fs::read_to_string(d.join("cpu.stat")).ok()?;
                stat.lines()
                    .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse::<u64>().ok())
                    .map(|us| us * 1000)
            })
            .unwrap_or(0);
        let pids = self.container_pids(name)?.len() as u64;
        Ok(Usage {
            memory: mem_usage.unwrap_or(0),
            memory_limit: limit,
            cpu_ns,
            pids,
        })
    }
}

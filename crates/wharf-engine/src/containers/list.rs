//! `docker ps` / `GET /containers/json`: a summary of each container,
//! from its record, docker's `--filter`s (moby `daemon/list.go` of
//! 20.10), and the daemon's STATUS text.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use wharf_format::{human_duration, since};
use wharf_model::{ContainerRecord, Filters, HealthStatus, MountPoint, NetMode, Status};
use wharf_oci::config::parse_time;
use wharf_oci::Digest;
use wharf_store::{containers, images, networks};

use crate::{Engine, EngineError, EngineResult};

#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    /// Path and args, as docker's COMMAND column shows them.
    pub command: String,
    pub created: Option<DateTime<Utc>>,
    pub status: Status,
    pub exit_code: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// While it runs with a health check.
    pub health: Option<HealthStatus>,
    pub labels: BTreeMap<String, String>,
    /// Published and exposed ports (while it runs).
    pub ports: Vec<super::PortView>,
    pub image_id: String,
    /// `HostConfig.NetworkMode`.
    pub network_mode: String,
    pub mounts: Vec<MountPoint>,
    /// Its networks by name (the API's list carries them; compose's `ps`
    /// shows their names).
    pub networks: BTreeMap<String, wharf_model::EndpointSettings>,
}

impl ContainerSummary {
    /// The STATUS docker's daemon reports (`Up 2 minutes`, `Exited (0) 3
    /// seconds ago`), as of `now`.
    pub fn status_text(&self, now: DateTime<Utc>) -> String {
        let up = || {
            self.started_at
                .map(|t| human_duration(now - t))
                .unwrap_or_default()
        };
        let ago = |t: Option<DateTime<Utc>>| t.map(|t| since(t, now)).unwrap_or_default();
        let health = match self.health {
            Some(HealthStatus::Starting) => " (health: starting)",
            Some(HealthStatus::Healthy) => " (healthy)",
            Some(HealthStatus::Unhealthy) => " (unhealthy)",
            _ => "",
        };
        match self.status {
            Status::Running => format!("Up {}{health}", up()),
            Status::Paused => format!("Up {} (Paused)", up()),
            Status::Restarting => format!(
                "Restarting ({}) {}",
                self.exit_code.unwrap_or(0),
                ago(self.finished_at)
            ),
            Status::Exited => format!(
                "Exited ({}) {}",
                self.exit_code.unwrap_or(0),
                ago(self.finished_at)
            ),
            Status::Created => "Created".to_string(),
            Status::Removing => "Removal In Progress".to_string(),
            Status::Dead => "Dead".to_string(),
        }
    }
}

/// The keys `docker ps --filter` accepts.
const PS_FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

/// `--filter` values checked and resolved once, before any container.
struct PsFilter<'f> {
    f: &'f Filters,
    exited: Vec<i32>,
    /// `is-task=true`: wharf runs no swarm tasks, so nothing matches.
    tasks_only: bool,
    publish: HashSet<(u16, String)>,
    expose: HashSet<(u16, String)>,
    before: Option<String>,
    since: Option<String>,
    /// `ancestor=`: the images named and their descendants.
    ancestors: Option<HashSet<Digest>>,
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// `80`, `80/udp`, `8000-8010/tcp` → each (port, protocol); docker's
/// `portOp`.
fn port_set(key: &str, values: &[String]) -> EngineResult<HashSet<(u16, String)>> {
    let mut out = HashSet::new();
    for v in values {
        if v.contains(':') {
            return Err(invalid(format!(
                "filter for '{key}' should not contain ':': {v}"
            )));
        }
        let (port, proto) = v.split_once('/').unwrap_or((v, "tcp"));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        let parse = |p: &str| {
            p.parse::<u16>().map_err(|_| {
                invalid(format!(
                    "error while looking up for {key} {v}: strconv.ParseUint: parsing {p:?}: invalid syntax"
                ))
            })
        };
        let (start, end) = match port.split_once('-') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => {
                let p = parse(port)?;
                (p, p)
            }
        };
        if end < start {
            return Err(invalid(format!(
                "error while looking up for {key} {v}: Invalid range specified for the Port: {port}"
            )));
        }
        for p in start..=end {
            out.insert((p, proto.to_ascii_lowercase()));
        }
    }
    Ok(out)
}

impl<'f> PsFilter<'f> {
    fn new(engine: &Engine, f: &'f Filters) -> EngineResult<PsFilter<'f>> {
        f.validate(PS_FILTERS)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        for s in f.get("status") {
            if s.parse::<Status>().is_err() {
                return Err(invalid(format!("Invalid filter 'status={s}'")));
            }
        }
        for h in f.get("health") {
            if !["starting", "healthy", "unhealthy", "none"].contains(&h.as_str()) {
                return Err(invalid(format!(
                    "Unrecognised filter value for health: {h}"
                )));
            }
        }
        let exited = f
            .get("exited")
            .iter()
            .map(|v| {
                v.parse::<i32>()
                    .map_err(|_| invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax")))
            })
            .collect::<EngineResult<Vec<_>>>()?;
        let tasks = f.get("is-task");
        let tasks_only = match tasks.first().map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if v == "true" || v == "1" => true,
            Some(v) if v == "false" || v == "0" => false,
            Some(_) => {
                return Err(invalid(format!(
                    "Invalid filter 'is-task=[{}]'",
                    tasks.join(" ")
                )))
            }
        };
        // docker keeps the last value given for each.
        let bound = |key: &str| -> EngineResult<Option<String>> {
            match f.get(key).last() {
                None => Ok(None),
                Some(v) => match engine.find_container(v) {
                    Ok(c) => Ok(Some(c.id)),
                    Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => {
                        Err(EngineError::NotFound(format!("no such container {v}")))
                    }
                    Err(e) => Err(e),
                },
            }
        };
        let ancestors = if f.contains("ancestor") {
            let mut set = HashSet::new();
            for name in f.get("ancestor") {
                // An image that does not exist matches nothing (docker
                // only logs it).
                if let Ok(id) = engine.resolve_image(name) {
                    engine.add_descendants(id, &mut set)?;
                }
            }
            Some(set)
        } else {
            None
        };
        Ok(PsFilter {
            f,
            exited,
            tasks_only,
            publish: port_set("publish", f.get("publish"))?,
            expose: port_set("expose", f.get("expose"))?,
            before: bound("before")?,
            since: bound("since")?,
            ancestors,
        })
    }

    /// Whether `c` passes every filter but `before`/`since` (which depend
    /// on the order).
    fn matches(&self, engine: &Engine, rec: &ContainerRecord, c: &ContainerSummary) -> bool {
        let f = self.f;
        let name_ok =
            f.regex_match("name", &c.name) || f.regex_match("name", &format!("/{}", c.name));
        let health = rec
            .state
            .health
            .as_ref()
            .map_or("none", |h| h.status.as_str());
        let exited_ok = self.exited.is_empty()
            || self.exited.iter().any(|code| {
                !c.status.is_running()
                    && c.started_at.is_some()
                    && c.exit_code.unwrap_or(0) == *code
            });
        let ports_ok = |set: &HashSet<(u16, String)>, public: bool| {
            set.is_empty()
                || c.ports.iter().any(|p| {
                    let port = if public { p.public } else { Some(p.private) };
                    port.is_some_and(|n| set.contains(&(n, p.proto.clone())))
                })
        };
        let simple = !self.tasks_only
            && name_ok
            && f.fuzzy_match("id", &c.id)
            && f.exact_match("status", c.status.as_str())
            && f.exact_match("health", health)
            && f.match_kv_list("label", &c.labels)
            && exited_ok
            && ports_ok(&self.publish, true)
            && ports_ok(&self.expose, false)
            && self
                .ancestors
                .as_ref()
                .is_none_or(|set| set.contains(&rec.image_id));
        simple
            && (!f.contains("volume") || volume_matches(f.get("volume"), &rec.definition.mounts))
            && (!f.contains("network") || engine.network_matches(rec, f.get("network")))
    }
}

/// `volume=`: a volume's name, a bind's source, or a mount's destination.
fn volume_matches(values: &[String], mounts: &[MountPoint]) -> bool {
    values.iter().any(|v| {
        mounts.iter().any(|m| {
            m.destination == *v
                || if m.name.is_empty() {
                    m.source == *v
                } else {
                    m.name == *v
                }
        })
    })
}

impl Engine {
    /// Containers, newest first; only running ones unless `all`.
    pub fn list_containers(&self, all: bool) -> EngineResult<Vec<ContainerSummary>> {
        self.ps(all, &Filters::default())
    }

    /// The `ps -a` line of one container (by name or ID), without listing
    /// the others (Compose's view of a container it just made).
    pub fn container_summary(&self, name: &str) -> EngineResult<ContainerSummary> {
        let c = self.refresh(self.find_container(name)?)?;
        self.summary(&c)
    }

    /// `docker ps [-a] [--filter ...]`: newest first. A `status` filter
    /// implies `all`, as in docker; `before`/`since` take the containers
    /// created before/after the one named.
    pub fn ps(&self, all: bool, filters: &Filters) -> EngineResult<Vec<ContainerSummary>> {
        let filter = PsFilter::new(self, filters)?;
        let all = all || filters.contains("status");
        // One read for every container's record, endpoints and networks,
        // not one per container.
        let (rows, endpoints, nets) = self.store.read(|tx| {
            Ok((
                containers::list(tx)?,
                networks::all_endpoints(tx)?,
                networks::list(tx)?,
            ))
        })?;
        let nets: HashMap<&str, &networks::NetworkRecord> =
            nets.iter().map(|n| (n.id.as_str(), n)).collect();
        let mut by_container: HashMap<&str, Vec<&networks::EndpointRecord>> = HashMap::new();
        for ep in &endpoints {
            by_container
                .entry(ep.container_id.as_str())
                .or_default()
                .push(ep);
        }
        let mut listed = Vec::new();
        for c in rows {
            let Some(c) = self.refresh_listed(c)? else {
                continue;
            };
            let mut summary = self.summary(&c)?;
            for ep in by_container.get(c.id.as_str()).into_iter().flatten() {
                if let Some(net) = nets.get(ep.network_id.as_str()) {
                    summary.networks.insert(
                        net.name.clone(),
                        super::ports::endpoint_settings(&c, ep, net),
                    );
                }
            }
            listed.push((c, summary));
        }
        // By creation time (the stored text does not sort as time).
        listed.sort_by_key(|c| std::cmp::Reverse(c.1.created));
        let mut before_seen = filter.before.is_none();
        let mut out = Vec::new();
        for (rec, c) in listed {
            if !before_seen {
                before_seen = filter.before.as_deref() == Some(c.id.as_str());
                continue;
            }
            if filter.since.as_deref() == Some(c.id.as_str()) {
                break;
            }
            if !all && !c.status.is_running() {
                continue;
            }
            if filter.matches(self, &rec, &c) {
                out.push(c);
            }
        }
        Ok(out)
    }

    fn summary(&self, c: &ContainerRecord) -> EngineResult<ContainerSummary> {
        let up = c.state.status.is_running();
        let (path, args) = c.definition.command();
        // docker's daemon quotes arguments holding a space.
        let args = args
            .into_iter()
            .map(|a| if a.contains(' ') { format!("'{a}'") } else { a });
        let command = std::iter::once(path).chain(args).collect::<Vec<_>>();
        Ok(ContainerSummary {
            image_id: c.image_id.to_string(),
            network_mode: c.definition.host_config.network_mode.clone(),
            mounts: c.definition.mounts.clone(),
            ports: self.container_ports(c)?,
            command: command.join(" "),
            image: c.definition.image_ref().to_string(),
            created: parse_time(&c.created),
            status: c.state.status,
            exit_code: c.state.exit_code,
            started_at: c.state.started_at.as_deref().and_then(parse_time),
            finished_at: c.state.finished_at.as_deref().and_then(parse_time),
            health: c.state.health.as_ref().filter(|_| up).map(|h| h.status),
            labels: c.definition.config.labels.clone().unwrap_or_default(),
            id: c.id.clone(),
            name: c.name.clone(),
            networks: BTreeMap::new(),
        })
    }

    /// `id` and every image built on it (docker's ancestor filter takes
    /// descendants too).
    fn add_descendants(&self, id: Digest, set: &mut HashSet<Digest>) -> EngineResult<()> {
        let mut todo = vec![id];
        while let Some(id) = todo.pop() {
            if set.insert(id.clone()) {
                todo.extend(self.store.read(|tx| images::children(tx, &id))?);
            }
        }
        Ok(())
    }

    /// `network=`: one of the container's networks by name, or by ID prefix.
    fn network_matches(&self, rec: &ContainerRecord, values: &[String]) -> bool {
        let nets = self.store.read(|tx| {
            let mut nets = Vec::new();
            match rec.definition.resolved.net_mode {
                NetMode::Host => nets.extend(networks::by_name(tx, "host")?),
                NetMode::None => nets.extend(networks::by_name(tx, "none")?),
                NetMode::Container(_) => {}
                NetMode::Bridge => {
                    for ep in networks::endpoints_of(tx, &rec.id)? {
                        nets.extend(networks::get(tx, &ep.network_id)?);
                    }
                }
            }
            Ok(nets)
        });
        let Ok(nets) = nets else {
            return false;
        };
        values.iter().any(|v| {
            nets.iter()
                .any(|n| n.name == *v || n.id.starts_with(v.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_filters_read_like_docker() {
        let set = port_set("publish", &["80".into(), "9000-9001/udp".into()]).unwrap();
        assert!(set.contains(&(80, "tcp".into())));
        assert!(set.contains(&(9001, "udp".into())));
        assert_eq!(set.len(), 3);
        assert_eq!(
            port_set("publish", &["x".into()]).unwrap_err().to_string(),
            "error while looking up for publish x: strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            port_set("expose", &["80:80".into()])
                .unwrap_err()
                .to_string(),
            "filter for 'expose' should not contain ':': 80:80"
        );
        assert!(port_set("publish", &["90-70".into()]).is_err());
    }

    #[test]
    fn volumes_match_by_name_source_or_destination() {
        let m = |name: &str, source: &str, dst: &str| MountPoint {
            name: name.into(),
            source: source.into(),
            destination: dst.into(),
            ..Default::default()
        };
        let mounts = [m("data", "/var/lib/x", "/data"), m("", "/host", "/in")];
        let hit = |v: &str| volume_matches(&[v.to_string()], &mounts);
        assert!(hit("data") && hit("/data") && hit("/host") && hit("/in"));
        assert!(!hit("/var/lib/x") && !hit("other"));
    }
}

//! Container routes: list, create, inspect, start/stop/restart/kill,
//! wait, rename, pause, remove, prune, top, changes, export, stats,
//! commit. Each is the engine call the CLI's verb makes.

use std::os::fd::AsFd;
use std::sync::Arc;

use http::StatusCode;
use serde_json::{json, Value};
use wharf_engine::containers::{
    ContainerSummary, CreateRequest, MonitorStdio, WaitCondition, Waited,
};
use wharf_model::{Config, HostConfig, NetworkingConfig};

use crate::body::{self, json as json_resp, no_content, ok_json, Resp};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// How long `wait` gives the monitor of a container whose record went
/// to report its exit code.
const GONE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a SIGKILL's answer waits for the container to go down.
const KILL_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// docker's `types.Container`: one row of `GET /containers/json`,
/// serialized straight from the engine's summary (docker's key order).
/// Built as a `serde_json::Value` it cost a map insert per key and a
/// second walk to write it: ~13% of the server's CPU for `docker ps -a`
/// over 200 containers.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryRow<'a> {
    id: &'a str,
    names: [String; 1],
    image: &'a str,
    #[serde(rename = "ImageID")]
    image_id: &'a str,
    command: &'a str,
    created: i64,
    ports: Vec<PortRow<'a>>,
    /// `GET /system/df` adds the sizes (always 0 here).
    #[serde(rename = "SizeRw", skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    #[serde(rename = "SizeRootFs", skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    labels: &'a std::collections::BTreeMap<String, String>,
    state: &'static str,
    status: String,
    host_config: NetworkModeRow<'a>,
    network_settings: NetworksRow<'a>,
    mounts: &'a [wharf_model::MountPoint],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct PortRow<'a> {
    #[serde(rename = "IP", skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    private_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_port: Option<u16>,
    #[serde(rename = "Type")]
    proto: &'a str,
}

#[derive(serde::Serialize)]
struct NetworkModeRow<'a> {
    #[serde(rename = "NetworkMode")]
    network_mode: &'a str,
}

#[derive(serde::Serialize)]
struct NetworksRow<'a> {
    #[serde(rename = "Networks")]
    networks: &'a std::collections::BTreeMap<String, wharf_model::EndpointSettings>,
}

/// One row of the list, as of `now`.
pub fn summary_row(c: &ContainerSummary, now: chrono::DateTime<chrono::Utc>) -> SummaryRow<'_> {
    let ports = c
        .ports
        .iter()
        .map(|p| {
            // An address and a host port only for a published port.
            let published = p.ip.as_deref().zip(p.public);
            PortRow {
                ip: published.map(|(ip, _)| ip),
                private_port: p.private,
                public_port: published.map(|(_, port)| port),
                proto: &p.proto,
            }
        })
        .collect();
    SummaryRow {
        id: &c.id,
        names: [format!("/{}", c.name)],
        image: &c.image,
        image_id: &c.image_id,
        command: &c.command,
        created: c.created.map(|t| t.timestamp()).unwrap_or(0),
        ports,
        labels: &c.labels,
        state: c.status.as_str(),
        status: c.status_text(now),
        host_config: NetworkModeRow {
            network_mode: &c.network_mode,
        },
        network_settings: NetworksRow {
            networks: &c.networks,
        },
        mounts: &c.mounts,
        size_rw: None,
        size_root_fs: None,
    }
}

/// The query's `filters` as docker's filter set.
pub fn filters(call: &Call) -> ApiResult<wharf_model::Filters> {
    let mut f = wharf_model::Filters::default();
    for (k, vs) in call.query.filters()? {
        for v in vs {
            f.add(k.clone(), v);
        }
    }
    Ok(f)
}

pub async fn list(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let filters = filters(&call)?;
    let limit: Option<i64> = call.query.int("limit")?;
    let limit = limit.filter(|l| *l > 0).map(|l| l as usize);
    let all = call.query.bool("all") || limit.is_some();
    let rows = ctx.blocking(move |e| Ok(e.ps(all, &filters)?)).await?;
    let now = chrono::Utc::now();
    let n = limit.unwrap_or(rows.len());
    let out: Vec<SummaryRow> = rows.iter().take(n).map(|c| summary_row(c, now)).collect();
    Ok(ok_json(&out))
}

/// The create body: docker's `Config` with `HostConfig` and
/// `NetworkingConfig` beside its fields.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CreateBody {
    #[serde(flatten)]
    config: Config,
    #[serde(rename = "HostConfig")]
    host_config: Option<HostConfig>,
    #[serde(rename = "NetworkingConfig")]
    networking_config: Option<NetworkingConfig>,
}

pub async fn create(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let name = call
        .query
        .get("name")
        .filter(|n| !n.is_empty())
        .map(|n| n.trim_start_matches('/').to_string());
    let bytes = body::read_limited(call.req.into_body(), body::JSON_LIMIT).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "config cannot be empty in order to create a container".into(),
        ));
    }
    let b: CreateBody = body::parse_json(&bytes)?;
    if b.config.image.is_empty() {
        return Err(ApiError::BadRequest(
            "Config.Image must be set to create a container".into(),
        ));
    }
    let mut networking_config = b.networking_config.unwrap_or_default();
    // docker 25+'s CLI names the endpoint of `--network default`
    // "default": it is the default bridge.
    if let Some(ep) = networking_config.endpoints_config.remove("default") {
        networking_config
            .endpoints_config
            .entry("bridge".into())
            .or_insert(ep);
    }
    let req = CreateRequest {
        name,
        config: b.config,
        host_config: b.host_config.unwrap_or_default(),
        networking_config,
    };
    let created = ctx.blocking(move |e| Ok(e.create_container(&req)?)).await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": created.id, "Warnings": created.warnings}),
    ))
}

pub async fn inspect(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let size = call.query.bool("size");
    // API 1.44 dropped the container's short ID from endpoint aliases.
    let short_id_alias = call.version < (1, 44);
    let v = ctx
        .blocking(move |e| {
            let mut v = serde_json::to_value(e.inspect_container(&id)?)
                .map_err(|e| ApiError::Task(e.to_string()))?;
            if size {
                v["SizeRw"] = json!(0);
                v["SizeRootFs"] = json!(0);
            }
            if !short_id_alias {
                let short: String = v["Id"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(12)
                    .collect();
                if let Some(nets) = v["NetworkSettings"]["Networks"].as_object_mut() {
                    for ep in nets.values_mut() {
                        if let Some(a) = ep["Aliases"].as_array_mut() {
                            a.retain(|x| x.as_str() != Some(short.as_str()));
                            if a.is_empty() {
                                ep["Aliases"] = Value::Null;
                            }
                        }
                    }
                }
            }
            Ok(v)
        })
        .await?;
    Ok(ok_json(&v))
}

pub async fn start(ctx: Arc<Ctx>, _call: Call, id: &str) -> ApiResult<Resp> {
    let name = id.to_string();
    let c = ctx.clone();
    let full_id = ctx
        .blocking(move |e| Ok(e.find_container(&name)?.id))
        .await?;
    let started_id = full_id.clone();
    // A client attached before the start (`docker run`, `start -a`) gets
    // the monitor's stdio from the very first byte.
    let waiting = ctx.attaches.take(&full_id);
    let outcome = match waiting {
        Some(w) => {
            let (stdio, ends) = crate::attach::pipes(&w)?;
            let started = c
                .blocking(move |e| Ok(e.start_container_with(&full_id, stdio)?))
                .await;
            match started {
                Ok(outcome) => {
                    let already = outcome.monitor.is_none();
                    w.hand_over(ends, outcome, &ctx);
                    already
                }
                Err(err) => {
                    // The client is told by this answer; its stream ends.
                    drop(w);
                    return Err(err);
                }
            }
        }
        None => {
            let outcome = c
                .blocking(move |e| Ok(e.start_container_with(&full_id, MonitorStdio::Null)?))
                .await?;
            let already = outcome.monitor.is_none();
            if let Some(m) = outcome.monitor {
                ctx.adopt(&outcome.id, m);
            }
            already
        }
    };
    // A `wait` sent before the start (`docker run`) watches the monitor now.
    ctx.wake(&started_id);
    if outcome {
        return Ok(body::with_status(StatusCode::NOT_MODIFIED, body::empty()));
    }
    Ok(no_content())
}

fn timeout(call: &Call) -> ApiResult<Option<u64>> {
    let t: Option<i64> = call.query.int("t")?;
    Ok(t.map(|t| t.max(0) as u64))
}

pub async fn stop(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let t = timeout(&call)?;
    let signal = call.query.get("signal").map(str::to_string);
    let was_running = ctx
        .blocking(move |e| {
            let running = e.container_running(&e.find_container(&id)?.id);
            e.stop_container(&id, t, signal.as_deref())?;
            Ok(running)
        })
        .await?;
    if !was_running {
        return Ok(body::with_status(StatusCode::NOT_MODIFIED, body::empty()));
    }
    Ok(no_content())
}

pub async fn restart(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let t = timeout(&call)?;
    let signal = call.query.get("signal").map(str::to_string);
    let c = ctx.clone();
    ctx.blocking(move |e| {
        let outcome = e.restart_container_started(&id, t, signal.as_deref())?;
        if let Some(m) = outcome.monitor {
            c.adopt(&outcome.id, m);
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

pub async fn kill(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let signal = call
        .query
        .get("signal")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    ctx.blocking(move |e| {
        let id = e.kill_container(&id, signal.as_deref())?;
        // As dockerd: a SIGKILL is answered once the container is down
        // (a client inspects it next), within a bound.
        let sig = signal.as_deref().unwrap_or("KILL").to_ascii_uppercase();
        if matches!(sig.as_str(), "KILL" | "SIGKILL" | "9") {
            let deadline = std::time::Instant::now() + KILL_PATIENCE;
            e.wait_condition(
                &id,
                WaitCondition::NotRunning,
                &|| std::time::Instant::now() > deadline,
                None,
            )?;
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// `POST /containers/{id}/wait`: the headers at once (the CLI starts the
/// container meanwhile), the exit status when the condition holds.
pub async fn wait(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let condition = WaitCondition::parse(call.query.get("condition").unwrap_or_default())?;
    let name = id.to_string();
    let id = ctx
        .blocking(move |e| Ok(e.find_container(&name)?.id))
        .await?;
    // Starts and exits seen here wake the wait at once.
    let (wake, registered) = ctx.wake_pipe(&id)?;
    let (tx, resp) = body::streamed(StatusCode::OK, "application/json");
    let gone = tx.clone();
    let c = ctx.clone();
    tokio::spawn(async move {
        let cid = id.clone();
        let r = c
            .blocking(move |e| {
                let waited =
                    e.wait_condition(&cid, condition, &|| gone.is_closed(), Some(wake.as_fd()));
                drop(registered);
                Ok(waited)
            })
            .await;
        let msg = match r {
            Ok(Ok(Waited::Exited(code))) => json!({"Error": null, "StatusCode": code}),
            Ok(Ok(Waited::Gone)) => {
                let code = c.exit_code(&id, GONE_PATIENCE).await.unwrap_or(0);
                json!({"Error": null, "StatusCode": code})
            }
            Ok(Ok(Waited::Cancelled)) => return,
            Ok(Err(err)) => json!({"Error": {"Message": err.to_string()}, "StatusCode": -1}),
            Err(err) => json!({"Error": {"Message": err.to_string()}, "StatusCode": -1}),
        };
        let mut v = serde_json::to_vec(&msg).unwrap_or_default();
        v.push(b'\n');
        tx.send(v).await;
    });
    Ok(resp)
}

pub async fn update(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let u: wharf_model::UpdateConfig = body::json_body(call.req.into_body()).await?;
    let id = id.to_string();
    let warnings = ctx
        .blocking(move |e| Ok(e.update_container(&id, &u)?))
        .await?;
    Ok(ok_json(&json!({"Warnings": warnings})))
}

pub async fn rename(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let new = call.query.get("name").unwrap_or_default().to_string();
    ctx.blocking(move |e| Ok(e.rename_container(&id, &new)?))
        .await?;
    Ok(no_content())
}

pub async fn pause(ctx: Arc<Ctx>, _call: Call, id: &str, pause: bool) -> ApiResult<Resp> {
    let id = id.to_string();
    ctx.blocking(move |e| Ok(e.pause_container(&id, pause)?))
        .await?;
    Ok(no_content())
}

pub async fn remove(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let force = call.query.bool("force");
    let volumes = call.query.bool("v");
    if call.query.bool("link") {
        return Err(ApiError::BadRequest(
            "links are not supported by wharf".into(),
        ));
    }
    ctx.blocking(move |e| Ok(e.remove_container(&id, force, volumes)?))
        .await?;
    Ok(no_content())
}

pub async fn prune(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let filters = filters(&call)?;
    let labels: Vec<String> = filters.get("label").to_vec();
    let report = ctx
        .blocking(move |e| {
            Ok(e.prune_containers(|c| {
                labels.iter().all(|l| match l.split_once('=') {
                    Some((k, v)) => c.labels.get(k).is_some_and(|x| x == v),
                    None => c.labels.contains_key(l),
                })
            })?)
        })
        .await?;
    Ok(ok_json(&json!({
        "ContainersDeleted": if report.deleted.is_empty() { Value::Null } else { json!(report.deleted) },
        "SpaceReclaimed": report.reclaimed,
    })))
}

pub async fn top(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let args: Vec<String> = call
        .query
        .get("ps_args")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let (header, rows) = ctx
        .blocking(move |e| Ok(e.container_top(&id, &args)?))
        .await?;
    let titles: Vec<&str> = header.split_whitespace().collect();
    let n = titles.len().max(1);
    let processes: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cols: Vec<String> = Vec::with_capacity(n);
            let mut rest = r.trim_start();
            while cols.len() + 1 < n {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                cols.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            cols.push(rest.to_string());
            cols
        })
        .collect();
    Ok(ok_json(&json!({"Titles": titles, "Processes": processes})))
}

pub async fn changes(ctx: Arc<Ctx>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let changes = ctx.blocking(move |e| Ok(e.container_changes(&id)?)).await?;
    let v: Vec<Value> = changes
        .iter()
        .map(|c| {
            let kind = match c.kind {
                'C' => 0,
                'A' => 1,
                _ => 2,
            };
            json!({"Path": c.path, "Kind": kind})
        })
        .collect();
    Ok(ok_json(&v))
}

pub async fn export(ctx: Arc<Ctx>, id: &str) -> ApiResult<Resp> {
    let name = id.to_string();
    let id = ctx
        .blocking(move |e| Ok(e.find_container(&name)?.id))
        .await?;
    Ok(
        ctx.stream_bytes("application/x-tar", "export", move |e, w| {
            e.export_container(&id, w)?;
            Ok(())
        }),
    )
}

fn stats_json(
    id: &str,
    name: &str,
    u: &wharf_engine::containers::Usage,
    pre: Option<&Value>,
) -> Value {
    let now = wharf_oci::config::format_time(chrono::Utc::now());
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let system = system_cpu_ns();
    json!({
        "read": now,
        "preread": pre.and_then(|p| p.get("read").cloned()).unwrap_or(json!("0001-01-01T00:00:00Z")),
        "pids_stats": {"current": u.pids},
        "blkio_stats": {},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": {
            "cpu_usage": {"total_usage": u.cpu_ns, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": system,
            "online_cpus": ncpu,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "precpu_stats": pre.and_then(|p| p.get("cpu_stats").cloned()).unwrap_or(json!({"cpu_usage": {"total_usage": 0}, "throttling_data": {}})),
        "memory_stats": {
            "usage": u.memory,
            "limit": u.memory_limit.unwrap_or_else(crate::system::mem_total),
            "stats": {},
        },
        "networks": {"eth0": {"rx_bytes": 0, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0, "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0}},
        "name": format!("/{name}"),
        "id": id,
    })
}

/// The host's CPU time in nanoseconds (`/proc/stat`'s first line, as
/// docker computes `system_cpu_usage`).
fn system_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(7)
                .filter_map(|x| x.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    // USER_HZ is 100 on Linux.
    ticks * 10_000_000
}

pub async fn stats(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let name = id.to_string();
    let stream = call.query.bool_or("stream", true) && !call.query.bool("one-shot");
    let (id, cname) = ctx
        .blocking(move |e| {
            let c = e.find_container(&name)?;
            Ok((c.id, c.name))
        })
        .await?;
    let sample = {
        let id = id.clone();
        let ctx = ctx.clone();
        move || {
            let id = id.clone();
            let ctx = ctx.clone();
            // A stopped container's numbers are zeros, as dockerd gives them.
            async move {
                ctx.blocking(move |e| match e.container_usage(&id) {
                    Err(err) if err.kind() == wharf_engine::ErrorKind::Conflict => {
                        Ok(Default::default())
                    }
                    other => Ok(other?),
                })
                .await
            }
        }
    };
    if !stream {
        let u = sample().await?;
        return Ok(ok_json(&stats_json(&id, &cname, &u, None)));
    }
    let (tx, resp) = body::streamed(StatusCode::OK, "application/json");
    tokio::spawn(async move {
        let mut pre: Option<Value> = None;
        loop {
            let u = match sample().await {
                Ok(u) => u,
                Err(_) => break,
            };
            let v = stats_json(&id, &cname, &u, pre.as_ref());
            let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
            bytes.push(b'\n');
            if !tx.send(bytes).await {
                break;
            }
            pre = Some(v);
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = tx.closed() => break,
            }
        }
    });
    Ok(resp)
}

pub async fn commit(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let q = &call.query;
    let container = q.get("container").unwrap_or_default().to_string();
    let repo = q.get("repo").unwrap_or_default();
    let tag = q.get("tag").unwrap_or_default();
    let reference = match (repo, tag) {
        ("", _) => None,
        (r, "") => Some(r.to_string()),
        (r, t) => Some(format!("{r}:{t}")),
    };
    let req = wharf_engine::containers::CommitRequest {
        reference,
        changes: q.all("changes").iter().map(|s| s.to_string()).collect(),
        message: q
            .get("comment")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        author: q
            .get("author")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    };
    let id = ctx
        .blocking(move |e| Ok(e.commit_container(&container, &req)?))
        .await?;
    Ok(json_resp(StatusCode::CREATED, &json!({"Id": id})))
}

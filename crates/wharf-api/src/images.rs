//! Image routes: list, inspect, history, tag, delete, prune, get/load
//! (tar streams), create (pull with `fromImage`, import with `fromSrc`),
//! push, `/distribution`, and `/system/df`'s lists. Pull and push
//! progress is docker's JSON message stream, so the CLI draws its bars.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{json, Value};
use wharf_engine::images::{ImageFilter, ImportRequest, RemoveEvent};
use wharf_engine::registry::PullRequest;
use wharf_engine::{Engine, Reference};
use wharf_registry::progress::{Event, LayerStatus, Progress};

use crate::body::{self, ok_json, BodyReader, Resp, Streamer};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// `/images/{name...}/{verb}` (names hold slashes).
pub async fn route(ctx: Arc<Ctx>, call: Call, s: &[&str]) -> ApiResult<Resp> {
    let m = call.method.clone();
    match (m, s) {
        (Method::GET, ["json"]) => return list(ctx, call).await,
        (Method::POST, ["create"]) => return create(ctx, call).await,
        (Method::POST, ["load"]) => return load(ctx, call).await,
        (Method::POST, ["prune"]) => return prune(ctx, call).await,
        (Method::GET, ["get"]) => {
            let names = call
                .query
                .all("names")
                .iter()
                .map(|n| n.to_string())
                .collect();
            return save(ctx, names).await;
        }
        _ => {}
    }
    let (name, verb) = match s.split_last() {
        Some((v, rest)) if !rest.is_empty() => (rest.join("/"), *v),
        _ => (s.join("/"), ""),
    };
    match (&call.method, verb) {
        (&Method::GET, "json") => inspect(ctx, name).await,
        (&Method::GET, "history") => history(ctx, name).await,
        (&Method::GET, "get") => save(ctx, vec![name]).await,
        (&Method::POST, "tag") => tag(ctx, call, name).await,
        (&Method::POST, "push") => push(ctx, call, name).await,
        (&Method::DELETE, _) => remove(ctx, call, s.join("/")).await,
        _ => Err(ApiError::NotFound("page not found".into())),
    }
}

/// docker's `types.ImageSummary`, one per image.
fn summaries(e: &Engine, filter: &ImageFilter) -> ApiResult<Vec<Value>> {
    let rows = e.list_images(filter)?;
    let mut by_id: BTreeMap<String, (Vec<String>, Vec<String>, i64, u64)> = BTreeMap::new();
    let mut order = Vec::new();
    for r in rows {
        let id = r.id.to_string();
        let entry = by_id.entry(id.clone()).or_insert_with(|| {
            order.push(id.clone());
            (
                Vec::new(),
                Vec::new(),
                r.created.map(|t| t.timestamp()).unwrap_or(0),
                r.size,
            )
        });
        if let (Some(repo), Some(tag)) = (&r.repository, &r.tag) {
            entry.0.push(format!("{repo}:{tag}"));
        }
        if let (Some(repo), Some(d)) = (&r.repository, &r.digest) {
            let rd = format!("{repo}@{d}");
            if !entry.1.contains(&rd) {
                entry.1.push(rd);
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|id| {
            let (tags, digests, created, size) = by_id.remove(&id)?;
            let labels = e
                .inspect_image(&id)
                .ok()
                .and_then(|v| v["Config"]["Labels"].as_object().cloned());
            Some(json!({
                "Containers": -1,
                "Created": created,
                "Id": id,
                "Labels": labels,
                "ParentId": "",
                "RepoDigests": digests,
                "RepoTags": tags,
                "SharedSize": -1,
                "Size": size,
                "VirtualSize": size,
            }))
        })
        .collect())
}

async fn list(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let mut filter = ImageFilter {
        all: call.query.bool("all"),
        ..Default::default()
    };
    for (k, vs) in call.query.filters()? {
        for v in vs {
            filter.add(&format!("{k}={v}"))?;
        }
    }
    if let Some(r) = call.query.get("filter").filter(|r| !r.is_empty()) {
        filter.references.push(r.to_string());
    }
    let v = ctx.blocking(move |e| summaries(e, &filter)).await?;
    Ok(ok_json(&v))
}

async fn inspect(ctx: Arc<Ctx>, name: String) -> ApiResult<Resp> {
    let v = ctx.blocking(move |e| Ok(e.inspect_image(&name)?)).await?;
    Ok(ok_json(&v))
}

async fn history(ctx: Arc<Ctx>, name: String) -> ApiResult<Resp> {
    let h = ctx.blocking(move |e| Ok(e.image_history(&name)?)).await?;
    let v: Vec<Value> = h
        .iter()
        .map(|x| {
            json!({
                "Id": x.id.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "<missing>".into()),
                "Created": x.created.map(|t| t.timestamp()).unwrap_or(0),
                "CreatedBy": x.created_by,
                "Tags": if x.tags.is_empty() { Value::Null } else { json!(x.tags) },
                "Size": x.size,
                "Comment": x.comment,
            })
        })
        .collect();
    Ok(ok_json(&v))
}

async fn tag(ctx: Arc<Ctx>, call: Call, name: String) -> ApiResult<Resp> {
    let repo = call.query.get("repo").unwrap_or_default().to_string();
    let tag = call.query.get("tag").unwrap_or_default();
    if repo.is_empty() {
        return Err(ApiError::BadRequest(
            "repository name must have at least one component".into(),
        ));
    }
    let target = if tag.is_empty() {
        repo
    } else {
        format!("{repo}:{tag}")
    };
    ctx.blocking(move |e| Ok(e.tag_image(&name, &target)?))
        .await?;
    Ok(body::with_status(StatusCode::CREATED, body::empty()))
}

async fn remove(ctx: Arc<Ctx>, call: Call, name: String) -> ApiResult<Resp> {
    let force = call.query.bool("force");
    let events = ctx
        .blocking(move |e| Ok(e.remove_image(&name, force)?))
        .await?;
    Ok(ok_json(&events_json(&events)))
}

fn events_json(events: &[RemoveEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|ev| match ev {
            RemoveEvent::Untagged(t) => json!({"Untagged": t}),
            RemoveEvent::Deleted(d) => json!({"Deleted": d.to_string()}),
        })
        .collect()
}

async fn prune(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let filters = call.query.filters()?;
    // docker prunes dangling images unless `dangling=false`.
    let all = filters
        .get("dangling")
        .is_some_and(|v| v.iter().any(|x| x == "false" || x == "0"));
    let report = ctx.blocking(move |e| Ok(e.prune_images(all)?)).await?;
    Ok(ok_json(&json!({
        "ImagesDeleted": if report.events.is_empty() { Value::Null } else { json!(events_json(&report.events)) },
        "SpaceReclaimed": report.reclaimed,
    })))
}

async fn save(ctx: Arc<Ctx>, names: Vec<String>) -> ApiResult<Resp> {
    let check = names.clone();
    ctx.blocking(move |e| {
        for n in &check {
            e.resolve_image(n)?;
        }
        Ok(())
    })
    .await?;
    Ok(
        ctx.stream_bytes("application/x-tar", "image save", move |e, w| {
            e.save_images(&names, w)?;
            Ok(())
        }),
    )
}

async fn load(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let reader = BodyReader::new(call.req.into_body());
    Ok(ctx.stream_messages(move |e, out| {
        let loaded = e.load_images(std::io::BufReader::with_capacity(256 * 1024, reader))?;
        for l in loaded {
            if l.tags.is_empty() {
                out.blocking_json(&json!({"stream": format!("Loaded image ID: {}\n", l.id)}));
            }
            for t in &l.tags {
                out.blocking_json(&json!({"stream": format!("Loaded image: {}\n", t.familiar())}));
            }
        }
        Ok(())
    }))
}

/// Registry progress as docker's JSON messages.
struct JsonProgress(Streamer);

fn bar(current: u64, total: u64) -> String {
    if total == 0 {
        return String::new();
    }
    let width = 50u64;
    let done = (current.min(total) * width / total) as usize;
    let arrow = if done < width as usize { ">" } else { "" };
    format!(
        "[{}{arrow}{}] {}/{}",
        "=".repeat(done.saturating_sub(usize::from(!arrow.is_empty()))),
        " ".repeat(width as usize - done),
        wharf_format::human_size(current as f64),
        wharf_format::human_size(total as f64)
    )
}

impl Progress for JsonProgress {
    fn event(&self, e: Event) {
        let v = match e {
            Event::PullingFrom { tag, path } => {
                json!({"status": format!("Pulling from {path}"), "id": tag})
            }
            Event::Status(s) => json!({"status": s}),
            Event::Layer { id, status } => match status {
                LayerStatus::Downloading { current, total }
                | LayerStatus::Pushing { current, total } => json!({
                    "status": status.text(),
                    "progressDetail": {"current": current, "total": total},
                    "progress": bar(current, total),
                    "id": id,
                }),
                other => json!({"status": other.text(), "progressDetail": {}, "id": id}),
            },
        };
        self.0.blocking_json(&v);
    }
}

async fn create(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let q = call.query.clone();
    let from_image = q.get("fromImage").unwrap_or_default().to_string();
    let from_src = q.get("fromSrc").unwrap_or_default().to_string();
    let tag = q.get("tag").unwrap_or_default().to_string();
    let platform = q
        .get("platform")
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    if from_image.is_empty() && from_src.is_empty() {
        return Err(ApiError::BadRequest(
            "fromImage or fromSrc is required".into(),
        ));
    }
    if !from_src.is_empty() && from_src != "-" {
        return Err(ApiError::BadRequest(
            "importing from a URL is not supported: send the tar (fromSrc=-)".into(),
        ));
    }
    let credential = registry_auth(&call);
    let reader = (!from_src.is_empty()).then(|| BodyReader::new(call.req.into_body()));
    Ok(ctx.stream_messages(move |e, out| {
        if let Some(reader) = reader {
            let repo = q.get("repo").unwrap_or_default();
            let reference = match (repo, tag.as_str()) {
                ("", _) => None,
                (r, "") => Some(r.to_string()),
                (r, t) => Some(format!("{r}:{t}")),
            };
            let req = ImportRequest {
                reference,
                changes: q.all("changes").iter().map(|s| s.to_string()).collect(),
                message: q
                    .get("message")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                source: "-".into(),
                platform,
            };
            let id = e.import_image(reader, &req)?;
            out.blocking_json(&json!({"status": id.to_string()}));
            return Ok(());
        }
        let name = match tag.as_str() {
            "" => from_image.clone(),
            t if t.starts_with("sha256:") => format!("{from_image}@{t}"),
            t => format!("{from_image}:{t}"),
        };
        let name = Reference::parse(&name)
            .map_err(wharf_engine::EngineError::from)?
            .with_default_tag()
            .to_string();
        let p = e.pull_as(
            &PullRequest { name, platform },
            credential,
            &JsonProgress(out.clone()),
        )?;
        out.blocking_json(&json!({"status": format!("Digest: {}", p.digest)}));
        let status = if p.updated {
            "Downloaded newer image"
        } else {
            "Image is up to date"
        };
        out.blocking_json(
            &json!({"status": format!("Status: {status} for {}", p.reference.familiar())}),
        );
        Ok(())
    }))
}

async fn push(ctx: Arc<Ctx>, call: Call, name: String) -> ApiResult<Resp> {
    let tag = call.query.get("tag").unwrap_or_default().to_string();
    let target = if tag.is_empty() {
        name.clone()
    } else {
        format!("{name}:{tag}")
    };
    let all = tag.is_empty();
    let credential = registry_auth(&call);
    let check = target.clone();
    let targets = ctx
        .blocking(move |e| Ok(e.push_targets(&check, all)?))
        .await?;
    Ok(ctx.stream_messages(move |e, out| {
        if let Some((r, _)) = targets.first() {
            out.blocking_json(
                &json!({"status": format!("The push refers to repository [{}]", r.repository())}),
            );
        }
        let progress = JsonProgress(out.clone());
        for (r, id) in &targets {
            let p = e.push_as(r, id, credential.clone(), &progress)?;
            out.blocking_json(
                &json!({"status": format!("{}: digest: {} size: {}", p.tag, p.digest, p.size)}),
            );
            out.blocking_json(&json!({"progressDetail": {}, "aux": {"Tag": p.tag, "Digest": p.digest.to_string(), "Size": p.size}}));
        }
        Ok(())
    }))
}

/// `GET /distribution/{name}/json`: what the registry has for `name`
/// (the manifest's descriptor and its platforms), with the client's
/// credentials.
pub async fn distribution(ctx: Arc<Ctx>, call: Call, name: String) -> ApiResult<Resp> {
    let credential = registry_auth(&call);
    let d = ctx
        .blocking(move |e| Ok(e.distribution_inspect(&name, credential)?))
        .await?;
    Ok(ok_json(&json!({
        "Descriptor": d.descriptor,
        "Platforms": d.platforms,
    })))
}

/// docker's `AuthConfig` in `X-Registry-Auth` (base64url JSON).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuthConfig {
    username: String,
    password: String,
    /// base64 `user:password`, as `config.json` holds it.
    auth: String,
    identitytoken: String,
}

/// The credential a client sends in `X-Registry-Auth` (pull, push,
/// distribution): `None` when it sends none (or an empty one: then the
/// server's `config.json` is asked). Like dockerd, a header that does not
/// decode counts as empty.
fn registry_auth(call: &Call) -> Option<wharf_engine::registry::Credential> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let header = call.req.headers().get("X-Registry-Auth")?.to_str().ok()?;
    let raw = [URL_SAFE, URL_SAFE_NO_PAD, STANDARD]
        .iter()
        .find_map(|e| e.decode(header.trim()).ok())?;
    let a: AuthConfig = serde_json::from_slice(&raw).ok()?;
    let credential = |username: String, secret: String| {
        Some(wharf_engine::registry::Credential { username, secret })
    };
    if !a.identitytoken.is_empty() {
        return credential("<token>".into(), a.identitytoken);
    }
    if !a.username.is_empty() {
        return credential(a.username, a.password);
    }
    let pair = STANDARD.decode(a.auth.trim()).ok()?;
    let (user, pass) = std::str::from_utf8(&pair).ok()?.split_once(':')?;
    credential(user.to_string(), pass.to_string())
}

/// `GET /system/df`: docker's per-object lists.
pub fn disk_usage(e: &Engine) -> ApiResult<Value> {
    let containers = e.list_containers(true)?;
    let mut images = summaries(e, &ImageFilter::default())?;
    for img in images.iter_mut() {
        let id = img["Id"].as_str().unwrap_or_default().to_string();
        let n = containers.iter().filter(|c| c.image_id == id).count();
        img["Containers"] = json!(n);
        img["SharedSize"] = json!(0);
    }
    let usage = e.disk_usage()?;
    let now = chrono::Utc::now();
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| {
            let mut row = crate::containers::summary_row(c, now);
            row.size_rw = Some(0);
            row.size_root_fs = Some(0);
            serde_json::to_value(row).map_err(|e| ApiError::Task(e.to_string()))
        })
        .collect::<ApiResult<_>>()?;
    let volumes: Vec<Value> = e
        .list_volumes()?
        .iter()
        .map(|v| {
            let mut j = crate::volumes::volume_json(v);
            j["UsageData"] =
                json!({"Size": e.volume_size(&v.record.name), "RefCount": v.containers});
            j
        })
        .collect();
    Ok(json!({
        "LayersSize": usage.images.size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": [],
    }))
}

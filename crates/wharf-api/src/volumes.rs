//! Volume routes: list, create, inspect, remove, prune.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use wharf_engine::volumes::{VolumeCreate, VolumeSummary};

use crate::body::{self, json as json_resp, no_content, ok_json, Resp};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// docker's `volume.Volume` for a list row.
pub fn volume_json(v: &VolumeSummary) -> Value {
    let map_or_null = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            Value::Null
        } else {
            json!(m)
        }
    };
    json!({
        "CreatedAt": v.record.created,
        "Driver": v.record.driver,
        "Labels": map_or_null(&v.record.labels),
        "Mountpoint": v.mountpoint,
        "Name": v.record.name,
        "Options": map_or_null(&v.record.options),
        "Scope": "local",
    })
}

fn label_matches(labels: &BTreeMap<String, String>, want: &str) -> bool {
    match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(want),
    }
}

pub async fn list(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let filters = call.query.filters()?;
    for k in filters.keys() {
        if !["name", "label", "dangling", "driver"].contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!("invalid filter '{k}'")));
        }
    }
    let vols = ctx.blocking(|e| Ok(e.list_volumes()?)).await?;
    let keep = |v: &VolumeSummary| {
        filters.iter().all(|(k, vals)| {
            vals.iter().any(|x| match k.as_str() {
                "name" => v.record.name.contains(x.as_str()),
                "label" => label_matches(&v.record.labels, x),
                "driver" => v.record.driver == *x,
                "dangling" => (v.containers == 0) == (x == "true" || x == "1"),
                _ => false,
            })
        })
    };
    let list: Vec<Value> = vols.iter().filter(|v| keep(v)).map(volume_json).collect();
    Ok(ok_json(&json!({"Volumes": list, "Warnings": null})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    driver_opts: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

pub async fn create(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let b: CreateBody = body::json_body(call.req.into_body()).await?;
    let req = VolumeCreate {
        name: Some(b.name).filter(|n| !n.is_empty()),
        driver: Some(b.driver).filter(|d| !d.is_empty()),
        labels: b.labels,
        options: b.driver_opts,
    };
    let v = ctx
        .blocking(move |e| {
            let name = e.create_volume(&req)?;
            Ok(e.inspect_volume(&name)?)
        })
        .await?;
    Ok(json_resp(StatusCode::CREATED, &v))
}

pub async fn inspect(ctx: Arc<Ctx>, name: &str) -> ApiResult<Resp> {
    let name = name.to_string();
    let v = ctx.blocking(move |e| Ok(e.inspect_volume(&name)?)).await?;
    Ok(ok_json(&v))
}

pub async fn remove(ctx: Arc<Ctx>, call: Call, name: &str) -> ApiResult<Resp> {
    let name = name.to_string();
    let force = call.query.bool("force");
    ctx.blocking(move |e| Ok(e.remove_volume(&name, force)?))
        .await?;
    Ok(no_content())
}

pub async fn prune(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let filters = call.query.filters()?;
    let labels = filters.get("label").cloned().unwrap_or_default();
    let report = ctx
        .blocking(move |e| {
            Ok(e.prune_volumes(|v| !labels.iter().all(|l| label_matches(&v.labels, l)))?)
        })
        .await?;
    Ok(ok_json(&json!({
        "VolumesDeleted": if report.deleted.is_empty() { Value::Null } else { json!(report.deleted) },
        "SpaceReclaimed": report.reclaimed,
    })))
}

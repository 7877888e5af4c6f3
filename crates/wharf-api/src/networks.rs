//! Network routes: list, inspect, create, connect, disconnect, remove,
//! prune.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use wharf_engine::networks::NetworkCreateRequest;

use crate::body::{self, json as json_resp, ok_json, Resp};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

pub async fn list(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let filters = call.query.filters()?;
    for k in filters.keys() {
        if !["name", "id", "driver", "label", "type"].contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!("invalid filter '{k}'")));
        }
    }
    let v = ctx
        .blocking(|e| {
            let mut out = Vec::new();
            for n in e.list_networks()? {
                out.push(e.inspect_network(&n.record.id)?);
            }
            Ok(out)
        })
        .await?;
    let keep = |n: &Value| {
        filters.iter().all(|(k, vals)| {
            vals.iter().any(|x| match k.as_str() {
                "name" => n["Name"].as_str().is_some_and(|s| s.contains(x.as_str())),
                "id" => n["Id"].as_str().is_some_and(|s| s.starts_with(x.as_str())),
                "driver" => n["Driver"] == *x,
                "label" => match x.split_once('=') {
                    Some((lk, lv)) => n["Labels"][lk] == lv,
                    None => !n["Labels"][x.as_str()].is_null(),
                },
                "type" => {
                    let builtin = ["bridge", "host", "none"]
                        .contains(&n["Name"].as_str().unwrap_or_default());
                    (x == "builtin") == builtin
                }
                _ => false,
            })
        })
    };
    let list: Vec<&Value> = v.iter().filter(|n| keep(n)).collect();
    Ok(ok_json(&list))
}

pub async fn inspect(ctx: Arc<Ctx>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    let v = ctx.blocking(move |e| Ok(e.inspect_network(&id)?)).await?;
    Ok(ok_json(&v))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfig {
    subnet: String,
    gateway: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
    auxiliary_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Ipam {
    config: Vec<IpamConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    internal: bool,
    #[serde(rename = "IPAM")]
    ipam: Ipam,
    options: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

pub async fn create(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let b: CreateBody = body::json_body(call.req.into_body()).await?;
    if b.name.is_empty() {
        return Err(ApiError::BadRequest("network name must be given".into()));
    }
    let mut ipam = b.ipam.config.into_iter().next().unwrap_or_default();
    let some = |s: String| Some(s).filter(|s| !s.is_empty());
    let ipam_aux = std::mem::take(&mut ipam.auxiliary_addresses);
    let req = NetworkCreateRequest {
        name: b.name,
        driver: if b.driver.is_empty() {
            "bridge".into()
        } else {
            b.driver
        },
        subnet: some(ipam.subnet),
        gateway: some(ipam.gateway),
        ip_range: some(ipam.ip_range),
        internal: b.internal,
        labels: b.labels,
        options: b.options,
        aux_addresses: ipam_aux,
        ..Default::default()
    };
    let id = ctx.blocking(move |e| Ok(e.create_network(&req)?)).await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warning": ""}),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    endpoint_config: Option<wharf_model::EndpointSettings>,
    force: bool,
}

pub async fn connect(ctx: Arc<Ctx>, call: Call, id: &str, connect: bool) -> ApiResult<Resp> {
    let b: ConnectBody = body::json_body(call.req.into_body()).await?;
    let network = id.to_string();
    ctx.blocking(move |e| {
        if connect {
            let ep = b.endpoint_config.unwrap_or_default();
            let aliases = ep.aliases.clone().unwrap_or_default();
            let ip = ep
                .ipam_config
                .as_ref()
                .map(|i| i.ipv4_address.clone())
                .filter(|a| !a.is_empty());
            e.connect_network(&network, &b.container, &aliases, ip.as_deref())?;
        } else {
            e.disconnect_network(&network, &b.container, b.force)?;
        }
        Ok(())
    })
    .await?;
    Ok(body::with_status(StatusCode::OK, body::empty()))
}

pub async fn remove(ctx: Arc<Ctx>, id: &str) -> ApiResult<Resp> {
    let id = id.to_string();
    ctx.blocking(move |e| Ok(e.remove_network(&id)?)).await?;
    Ok(body::no_content())
}

pub async fn prune(ctx: Arc<Ctx>) -> ApiResult<Resp> {
    let gone = ctx.blocking(|e| Ok(e.prune_networks()?)).await?;
    Ok(ok_json(&json!({
        "NetworksDeleted": if gone.is_empty() { Value::Null } else { json!(gone) },
    })))
}

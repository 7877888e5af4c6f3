//! Routing: the `/vX.Y` prefix (version negotiation), docker's routes to
//! their handlers, and the headers every answer carries.

use std::sync::Arc;

use http::{header::HeaderValue, Method, Request};
use hyper::body::Incoming;

use crate::body::{error_response, Query, Resp};
use crate::error::{ApiError, ApiResult};
use crate::server::Ctx;
use crate::{archive, attach, containers, exec, images, logs, networks, system, volumes};

/// The newest API version served (docker 27's).
pub const API_VERSION: &str = "1.47";
/// The oldest (docker 1.12's era; docker 25+ refuses older too).
pub const MIN_API_VERSION: &str = "1.24";

fn version_number(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The version a `/vX.Y/...` path asks for, and the rest of the path.
fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let (v, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if version_number(v).is_some() {
            return (Some(v), tail);
        }
    }
    (None, path)
}

fn check_version(v: &str) -> ApiResult<()> {
    let n = version_number(v);
    if n > version_number(API_VERSION) {
        return Err(ApiError::BadRequest(format!(
            "client version {v} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    if n < version_number(MIN_API_VERSION) {
        return Err(ApiError::BadRequest(format!(
            "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    Ok(())
}

/// A request, parsed enough for the handlers.
pub struct Call {
    pub method: Method,
    /// The API version asked for (`/vX.Y`), else the newest.
    pub version: (u32, u32),
    pub query: Query,
    pub req: Request<Incoming>,
}

pub async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Resp {
    let started = std::time::Instant::now();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let (version, rest) = split_version(&path);
    let result = match version.map(check_version).unwrap_or(Ok(())) {
        Err(e) => Err(e),
        Ok(()) => {
            let segs: Vec<String> = rest
                .split('/')
                .filter(|s| !s.is_empty())
                .map(percent_decode)
                .collect();
            let call = Call {
                method: req.method().clone(),
                version: version
                    .and_then(version_number)
                    .or_else(|| version_number(API_VERSION))
                    .unwrap_or((1, 47)),
                query: Query::parse(req.uri().query()),
                req,
            };
            route(ctx, call, &segs).await
        }
    };
    let mut resp = result.unwrap_or_else(|e| error_response(&e));
    // Until the head of the answer (a streamed body goes on after).
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed = ?started.elapsed(), "request");
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("wharf/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

fn percent_decode(s: &str) -> String {
    // Path segments use the same escapes as a query value, minus `+`.
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn not_found() -> ApiError {
    ApiError::NotFound("page not found".into())
}

async fn route(ctx: Arc<Ctx>, call: Call, segs: &[String]) -> ApiResult<Resp> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = call.method.clone();
    // Image names hold slashes: `/images/{name...}/{verb}`.
    if s.first() == Some(&"images") && s.len() >= 2 {
        return images::route(ctx, call, &s[1..]).await;
    }
    if s.first() == Some(&"distribution") && s.len() >= 3 && s.last() == Some(&"json") {
        let name = s[1..s.len() - 1].join("/");
        return images::distribution(ctx, call, name).await;
    }
    match (m, s.as_slice()) {
        (Method::GET | Method::HEAD, ["_ping"]) => Ok(system::ping(&call)),
        (Method::GET, ["version"]) => system::version(ctx).await,
        (Method::GET, ["info"]) => system::info(ctx).await,
        (Method::GET, ["system", "df"]) => system::df(ctx, call).await,
        (Method::GET, ["events"]) => system::events(ctx, call).await,
        (Method::POST, ["auth"]) => system::auth(ctx, call).await,
        // Swarm mode is not wharf's (Kubernetes is for many hosts): the
        // answers docker gives on a node that is not in a swarm.
        (_, ["swarm", ..] | ["nodes", ..] | ["services", ..] | ["tasks", ..] | ["secrets", ..] | ["configs", ..]) => {
            Err(ApiError::Unavailable(
                "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.".into(),
            ))
        }

        (Method::GET, ["containers", "json"]) => containers::list(ctx, call).await,
        (Method::POST, ["containers", "create"]) => containers::create(ctx, call).await,
        (Method::POST, ["containers", "prune"]) => containers::prune(ctx, call).await,
        (Method::GET, ["containers", id, "json"]) => containers::inspect(ctx, call, id).await,
        (Method::POST, ["containers", id, "start"]) => containers::start(ctx, call, id).await,
        (Method::POST, ["containers", id, "stop"]) => containers::stop(ctx, call, id).await,
        (Method::POST, ["containers", id, "restart"]) => containers::restart(ctx, call, id).await,
        (Method::POST, ["containers", id, "kill"]) => containers::kill(ctx, call, id).await,
        (Method::POST, ["containers", id, "wait"]) => containers::wait(ctx, call, id).await,
        (Method::POST, ["containers", id, "rename"]) => containers::rename(ctx, call, id).await,
        (Method::POST, ["containers", id, "update"]) => containers::update(ctx, call, id).await,
        (Method::POST, ["containers", id, "pause"]) => containers::pause(ctx, call, id, true).await,
        (Method::POST, ["containers", id, "unpause"]) => {
            containers::pause(ctx, call, id, false).await
        }
        (Method::POST, ["containers", id, "resize"]) => attach::resize(ctx, call, id).await,
        (Method::POST, ["containers", id, "attach"]) => attach::attach(ctx, call, id).await,
        (Method::DELETE, ["containers", id]) => containers::remove(ctx, call, id).await,
        (Method::GET, ["containers", id, "logs"]) => logs::logs(ctx, call, id).await,
        (Method::GET, ["containers", id, "top"]) => containers::top(ctx, call, id).await,
        (Method::GET, ["containers", id, "changes"]) => containers::changes(ctx, id).await,
        (Method::GET, ["containers", id, "export"]) => containers::export(ctx, id).await,
        (Method::GET, ["containers", id, "stats"]) => containers::stats(ctx, call, id).await,
        (Method::GET | Method::HEAD | Method::PUT, ["containers", id, "archive"]) => {
            archive::archive(ctx, call, id).await
        }
        (Method::POST, ["containers", id, "exec"]) => exec::create(ctx, call, id).await,
        (Method::POST, ["exec", id, "start"]) => exec::start(ctx, call, id).await,
        (Method::POST, ["exec", id, "resize"]) => exec::resize(ctx, call, id).await,
        (Method::GET, ["exec", id, "json"]) => exec::inspect(ctx, id).await,

        (Method::POST, ["build"]) => crate::build::build(ctx, call).await,
        (Method::POST, ["build", "prune"]) => crate::build::prune(ctx).await,
        (Method::POST, ["commit"]) => containers::commit(ctx, call).await,

        (Method::GET, ["networks"]) => networks::list(ctx, call).await,
        (Method::POST, ["networks", "create"]) => networks::create(ctx, call).await,
        (Method::POST, ["networks", "prune"]) => networks::prune(ctx).await,
        (Method::GET, ["networks", id]) => networks::inspect(ctx, id).await,
        (Method::DELETE, ["networks", id]) => networks::remove(ctx, id).await,
        (Method::POST, ["networks", id, "connect"]) => networks::connect(ctx, call, id, true).await,
        (Method::POST, ["networks", id, "disconnect"]) => {
            networks::connect(ctx, call, id, false).await
        }

        (Method::GET, ["volumes"]) => volumes::list(ctx, call).await,
        (Method::POST, ["volumes", "create"]) => volumes::create(ctx, call).await,
        (Method::POST, ["volumes", "prune"]) => volumes::prune(ctx, call).await,
        (Method::GET, ["volumes", name]) => volumes::inspect(ctx, name).await,
        (Method::DELETE, ["volumes", name]) => volumes::remove(ctx, call, name).await,
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_split_and_check() {
        assert_eq!(
            split_version("/v1.41/containers/json"),
            (Some("1.41"), "/containers/json")
        );
        assert_eq!(split_version("/_ping"), (None, "/_ping"));
        assert_eq!(split_version("/volumes/x"), (None, "/volumes/x"));
        assert!(check_version("1.41").is_ok() && check_version("1.47").is_ok());
        assert!(check_version("1.48").is_err() && check_version("1.12").is_err());
        assert!(check_version("1.9").is_err());
    }

    #[test]
    fn segments_are_unescaped() {
        assert_eq!(percent_decode("a%2Fb%3A1"), "a/b:1");
        assert_eq!(percent_decode("a+b"), "a+b");
    }
}

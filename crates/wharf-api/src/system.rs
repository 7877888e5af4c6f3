//! `/_ping`, `/version`, `/info`, `/system/df`, `/events`, `/auth`.

use std::sync::Arc;

use http::header::HeaderValue;
use http::StatusCode;
use serde_json::{json, Value};

use crate::body::{self, ok_json, Resp};
use crate::error::ApiResult;
use crate::router::{Call, API_VERSION, MIN_API_VERSION};
use crate::server::Ctx;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET|HEAD /_ping`: `OK`, and what the client negotiates from.
pub fn ping(call: &Call) -> Resp {
    let mut r = body::with_status(StatusCode::OK, body::full("OK"));
    let h = r.headers_mut();
    h.insert(
        "Content-Type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "Cache-Control",
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert("Pragma", HeaderValue::from_static("no-cache"));
    // The classic builder: the CLI then sends `/build` a tar context
    // instead of looking for BuildKit's session endpoints.
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    if call.method == http::Method::HEAD {
        h.insert("Content-Length", HeaderValue::from_static("0"));
        *r.body_mut() = body::empty();
    }
    r
}

fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub async fn version(_ctx: Arc<Ctx>) -> ApiResult<Resp> {
    let kernel = kernel_version();
    Ok(ok_json(&json!({
        "Platform": {"Name": "wharf"},
        "Components": [{
            "Name": "Engine",
            "Version": VERSION,
            "Details": {
                "ApiVersion": API_VERSION,
                "Arch": arch(),
                "BuildTime": "",
                "Experimental": "false",
                "GitCommit": "",
                "GoVersion": "",
                "KernelVersion": kernel,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
            }
        }],
        "Version": VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel,
        "BuildTime": "",
    })))
}

fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    (field("PRETTY_NAME"), field("VERSION_ID"))
}

/// The host's memory in bytes.
pub fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

pub async fn info(ctx: Arc<Ctx>) -> ApiResult<Resp> {
    let (containers, images, root) = ctx
        .blocking(|e| {
            let c = e.list_containers(true)?;
            let i = e.list_images(&Default::default())?;
            let mut ids: Vec<_> = i.iter().map(|x| x.id.clone()).collect();
            ids.dedup();
            Ok((c, ids.len(), e.root().display().to_string()))
        })
        .await?;
    let count = |f: &dyn Fn(&wharf_model::Status) -> bool| {
        containers.iter().filter(|c| f(&c.status)).count()
    };
    let host = wharf_runtime::spec::HostInfo::detect_for(false);
    let cgroup_version = match host.cgroup {
        wharf_runtime::spec::CgroupLayout::V2 => "2",
        _ => "1",
    };
    let (os, os_version) = os_release();
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ok_json(&json!({
        "ID": "",
        "Containers": containers.len(),
        "ContainersRunning": count(&|s| *s == wharf_model::Status::Running),
        "ContainersPaused": count(&|s| *s == wharf_model::Status::Paused),
        "ContainersStopped": count(&|s| !s.is_running()),
        "Images": images,
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"], ["Native Overlay Diff", "true"]],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "null"],
            "Authorization": null,
            "Log": ["json-file"],
        },
        "MemoryLimit": true,
        "SwapLimit": true,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": true,
        "BridgeNfIptables": true,
        "BridgeNfIp6tables": true,
        "Debug": false,
        "NFd": 0,
        "OomKillDisable": true,
        "NGoroutines": 0,
        "SystemTime": wharf_oci::config::format_time(chrono::Utc::now()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version,
        "NEventsListener": 0,
        "KernelVersion": kernel_version(),
        "OperatingSystem": os,
        "OSVersion": os_version,
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true}},
            "Mirrors": [],
        },
        "NCPU": host.ncpu,
        "MemTotal": mem_total(),
        "GenericResources": null,
        "DockerRootDir": root,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": hostname,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": VERSION,
        "Runtimes": {"runc": {"path": "runc"}},
        "DefaultRuntime": "runc",
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": false,
            "Error": "",
            "RemoteManagers": null,
        },
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": "docker-init",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": ["name=seccomp,profile=default"],
        "Warnings": null,
    })))
}

/// `GET /system/df`: docker's per-object lists.
pub async fn df(ctx: Arc<Ctx>, _call: Call) -> ApiResult<Resp> {
    let v: Value = ctx.blocking(crate::images::disk_usage).await?;
    Ok(ok_json(&v))
}

/// `GET /events`: the store's journal (every wharf process records
/// there), history from `since`, then live until `until` or the client
/// goes (seen at the next event).
pub async fn events(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let now = chrono::Utc::now();
    let time = |flag: &'static str| -> ApiResult<Option<i64>> {
        call.query
            .get(flag)
            .filter(|v| !v.is_empty())
            .map(|v| wharf_runtime::logs::parse_time_flag(flag, v, now))
            .transpose()
            .map(|t| t.and_then(|t| t.timestamp_nanos_opt()))
            .map_err(|e| crate::error::ApiError::BadRequest(e.to_string()))
    };
    let query = wharf_engine::events::EventsQuery {
        since: time("since")?,
        until: time("until")?,
        filters: crate::containers::filters(&call)?,
    };
    let (out, resp) = body::streamed(StatusCode::OK, "application/json");
    let c = ctx.clone();
    tokio::spawn(async move {
        let r = c
            .blocking(move |e| {
                e.events(&query, &mut |ev| out.blocking_json(&ev.message()))?;
                Ok(())
            })
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "events");
        }
    });
    Ok(resp)
}

/// `POST /auth`: the credentials are checked against the registry by the
/// client's own store; wharf's daemonless pulls read them from there.
pub async fn auth(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default, rename_all = "lowercase")]
    struct AuthConfig {
        username: String,
        password: String,
        serveraddress: String,
    }
    let a: AuthConfig = body::json_body(call.req.into_body()).await?;
    ctx.blocking(move |e| {
        let server = Some(a.serveraddress.as_str()).filter(|s| !s.is_empty());
        e.check_login(server, &a.username, &a.password)?;
        Ok(())
    })
    .await?;
    Ok(ok_json(
        &json!({"Status": "Login Succeeded", "IdentityToken": ""}),
    ))
}

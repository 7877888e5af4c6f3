//! `POST /build`: the client's tar context unpacked under the store's
//! `tmp/` (entries outside it refused), built by the CLI's builder, its
//! progress sent as docker's `{"stream": ...}` messages, the image's ID
//! as `{"aux": {"ID": ...}}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use wharf_build::{BuildRequest, Progress, ProgressMode};
use wharf_engine::Reference;

use crate::body::{json_line, ok_json, BodyReader, Resp};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// A piece of the builder's text output as a `{"stream": ...}` message.
fn stream_message(text: &[u8]) -> bytes::Bytes {
    json_line(&json!({"stream": String::from_utf8_lossy(text)}))
}

fn json_map(raw: Option<&str>, what: &str) -> ApiResult<BTreeMap<String, Option<String>>> {
    match raw.filter(|r| !r.is_empty()) {
        None => Ok(BTreeMap::new()),
        Some(r) => serde_json::from_str(r)
            .map_err(|e| ApiError::BadRequest(format!("invalid {what}: {e}"))),
    }
}

/// What the query asks of every RUN step (`extrahosts`, the cgroup
/// limits, `shmsize`), checked as the CLI's flags are.
fn step_options(q: &crate::body::Query) -> ApiResult<wharf_build::StepOptions> {
    let mut hosts = Vec::new();
    for h in q.all("extrahosts") {
        hosts.extend(h.split(',').filter(|x| !x.is_empty()).map(str::to_string));
    }
    let mut resources = wharf_model::Resources {
        memory: q.int("memory")?.unwrap_or(0),
        memory_swap: q.int("memswap")?.unwrap_or(0),
        cpu_shares: q.int("cpushares")?.unwrap_or(0),
        cpu_period: q.int("cpuperiod")?.unwrap_or(0),
        cpu_quota: q.int("cpuquota")?.unwrap_or(0),
        cpuset_cpus: q.get("cpusetcpus").unwrap_or_default().to_string(),
        cpuset_mems: q.get("cpusetmems").unwrap_or_default().to_string(),
        cgroup_parent: q.get("cgroupparent").unwrap_or_default().to_string(),
        ..Default::default()
    };
    let host = wharf_runtime::spec::HostInfo::detect_for(false);
    wharf_runtime::spec::verify_resources(&mut resources, &host)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(wharf_build::StepOptions {
        extra_hosts: wharf_engine::containers::parse_extra_hosts(&hosts)?,
        resources,
        shm_size: q.int("shmsize")?.unwrap_or(0),
        ulimits: Vec::new(),
    })
}

pub async fn build(ctx: Arc<Ctx>, call: Call) -> ApiResult<Resp> {
    let q = call.query.clone();
    let quiet = q.bool("q");
    let mut tags = Vec::new();
    for t in q.all("t") {
        tags.push(
            Reference::parse_tagged(t)
                .map_err(|e| ApiError::BadRequest(format!("invalid tag {t:?}: {e}")))?,
        );
    }
    let build_args: Vec<(String, Option<String>)> = json_map(q.get("buildargs"), "buildargs")?
        .into_iter()
        .collect();
    let labels: BTreeMap<String, String> = json_map(q.get("labels"), "labels")?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    let dockerfile_name = q
        .get("dockerfile")
        .filter(|d| !d.is_empty())
        .unwrap_or("Dockerfile")
        .to_string();
    let target = q
        .get("target")
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    // `bridge`: the classic builder's name for the default network.
    let network = match q.get("networkmode") {
        Some("bridge") => wharf_build::StepNetwork::Default,
        mode => wharf_build::StepNetwork::parse(mode)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
    };
    let no_cache = q.bool("nocache");
    let step_options = step_options(&q)?;
    let source_date_epoch = wharf_build::source_date_epoch(&build_args)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let reader = BodyReader::new(call.req.into_body());
    Ok(ctx.stream_messages(move |e, out| {
        let dir = e.store().temp_path("build-context");
        let _cleanup = Cleanup(dir.clone());
        std::fs::create_dir_all(&dir).map_err(|err| ApiError::io("creating the context", err))?;
        crate::archive::unpack(std::io::BufReader::with_capacity(256 * 1024, reader), &dir)?;
        let dockerfile = std::fs::read_to_string(dir.join(&dockerfile_name)).map_err(|_| {
            ApiError::BadRequest(format!(
                "Cannot locate specified Dockerfile: {dockerfile_name}"
            ))
        })?;
        let req = BuildRequest {
            context: Some(dir.clone()),
            dockerfile,
            dockerfile_name,
            tags,
            target,
            build_args,
            labels,
            no_cache,
            secrets: BTreeMap::new(),
            network,
            step_options,
            source_date_epoch,
            outputs: Vec::new(),
            export_only: false,
            ..Default::default()
        };
        let mode = if quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Plain
        };
        let progress = Progress::new(
            mode,
            Box::new(crate::server::StreamWriter(out.clone(), stream_message)),
        );
        let outcome = e.build(&req, &progress).map_err(|err| match err {
            // The classic builder's words, as its protocol is the one spoken.
            wharf_build::BuildError::RunFailed { command, code, .. } => ApiError::BadRequest(
                format!("The command '{command}' returned a non-zero code: {code}"),
            ),
            other => ApiError::BadRequest(other.to_string()),
        })?;
        let id = outcome.image_id.to_string();
        out.blocking_json(&json!({"aux": {"ID": id}}));
        if quiet {
            out.blocking_json(&json!({"stream": format!("{id}\n")}));
            return Ok(());
        }
        let short = id
            .trim_start_matches("sha256:")
            .get(..12)
            .unwrap_or_default();
        out.blocking_json(&json!({"stream": format!("Successfully built {short}\n")}));
        for t in &req.tags {
            out.blocking_json(
                &json!({"stream": format!("Successfully tagged {}\n", t.familiar())}),
            );
        }
        Ok(())
    }))
}

/// Removes a build's unpacked context.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn prune(ctx: Arc<Ctx>) -> ApiResult<Resp> {
    let (n, bytes) = ctx.blocking(|e| Ok(e.prune_build_cache()?)).await?;
    Ok(ok_json(
        &json!({"CachesDeleted": [], "SpaceReclaimed": bytes, "Count": n}),
    ))
}

//! `GET /containers/{id}/logs`: the json-file log, docker's stdcopy
//! frames unless the container has a terminal, followed while it runs.

use std::sync::Arc;

use http::StatusCode;
use wharf_engine::Engine;
use wharf_runtime::logs::{format_record, parse_time_flag, read_logs, ReadOptions, Stream};

use crate::body::{self, Resp, Streamer};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// Send the log of container `id` to `out` (blocking: run it on the
/// blocking pool). Ends when the client goes, or `stop()` says so.
pub fn send_logs(
    e: &Engine,
    id: &str,
    opts: &ReadOptions,
    tty: bool,
    out: &Streamer,
    stop: &dyn Fn() -> bool,
) -> ApiResult<()> {
    let path = e.log_path(id);
    // The monitor makes the log with the first output: a follower that
    // came first (docker-py's `run`) waits for it.
    while !path.exists() {
        if !opts.follow || out.is_closed() || stop() {
            if path.exists() {
                break;
            }
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut sink = |rec: &wharf_runtime::logs::LogRecord| -> std::io::Result<()> {
        let bytes = format_record(rec, opts.timestamps);
        let chunk = if tty {
            bytes.into()
        } else {
            let kind = match rec.stream {
                Stream::Stdout => 1,
                Stream::Stderr => 2,
            };
            crate::attach::frame(kind, &bytes)
        };
        if out.blocking_send(chunk) {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client went away",
            ))
        }
    };
    let stop = || out.is_closed() || stop();
    match read_logs(&path, opts, &mut sink, &stop) {
        Ok(()) => Ok(()),
        // The client left: nothing to tell it.
        Err(_) if out.is_closed() => Ok(()),
        Err(err) => Err(ApiError::io("reading the log", std::io::Error::other(err))),
    }
}

pub async fn logs(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let q = &call.query;
    let (stdout, stderr) = (q.bool("stdout"), q.bool("stderr"));
    if !stdout && !stderr {
        return Err(ApiError::BadRequest(
            "Bad parameters: you must choose at least one stream".into(),
        ));
    }
    let now = chrono::Utc::now();
    let time = |flag: &'static str| -> ApiResult<_> {
        q.get(flag)
            .filter(|s| !s.is_empty() && *s != "0")
            .map(|s| parse_time_flag(flag, s, now))
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    };
    let tail = match q.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(n) if n < 0 => None,
            Ok(n) => Some(n as usize),
            Err(_) => {
                return Err(ApiError::BadRequest(format!(
                    "invalid value for \"tail\": {n}"
                )))
            }
        },
    };
    let opts = ReadOptions {
        tail,
        since: time("since")?,
        until: time("until")?,
        timestamps: q.bool("timestamps"),
        follow: q.bool("follow"),
        stdout,
        stderr,
    };
    let name = id.to_string();
    let (id, tty) = ctx
        .blocking(move |e| {
            let c = e.find_container(&name)?;
            Ok((c.id.clone(), c.config().tty))
        })
        .await?;
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let (out, resp) = body::streamed(StatusCode::OK, content_type);
    let c = ctx.clone();
    tokio::spawn(async move {
        let r = c
            .blocking(move |e| {
                let stop = || !e.container_running(&id);
                send_logs(e, &id, &opts, tty, &out, &stop)
            })
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "logs");
        }
    });
    Ok(resp)
}

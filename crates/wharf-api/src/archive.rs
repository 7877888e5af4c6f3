//! `GET|HEAD|PUT /containers/{id}/archive`: `docker cp` both ways.
//!
//! The copies themselves are the CLI's (`wharf cp`): the container's
//! view walked through fds, never following a link out of it. A GET
//! copies into a private directory under the store's `tmp/` and streams
//! a tar of that; a PUT unpacks the client's tar there first, refusing
//! any entry that names a path outside it (absolute, `..`, a link out),
//! then copies each top-level entry into the container.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use http::header::HeaderValue;
use http::{Method, StatusCode};
use serde_json::json;
use wharf_engine::containers::PathStat;

use crate::body::{self, BodyReader, Resp};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// Go's `os.FileMode` of a `st_mode` (what docker's stat header holds).
fn go_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    match st_mode & libc::S_IFMT {
        libc::S_IFDIR => m |= 1 << 31,
        libc::S_IFLNK => m |= 1 << 27,
        libc::S_IFIFO => m |= 1 << 25,
        libc::S_IFSOCK => m |= 1 << 24,
        libc::S_IFBLK => m |= 1 << 26,
        libc::S_IFCHR => m |= (1 << 26) | (1 << 21),
        _ => {}
    }
    if st_mode & libc::S_ISUID != 0 {
        m |= 1 << 23;
    }
    if st_mode & libc::S_ISGID != 0 {
        m |= 1 << 22;
    }
    if st_mode & libc::S_ISVTX != 0 {
        m |= 1 << 20;
    }
    m
}

fn stat_header(s: &PathStat) -> HeaderValue {
    let mtime = chrono::DateTime::from_timestamp(s.mtime, s.mtime_nsec as u32)
        .map(wharf_oci::config::format_time)
        .unwrap_or_default();
    let v = json!({
        "name": s.name,
        "size": s.size,
        "mode": go_mode(s.mode),
        "mtime": mtime,
        "linkTarget": s.link_target,
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(v.to_string());
    HeaderValue::from_str(&b64).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A private directory under the store's `tmp/`, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(e: &wharf_engine::Engine) -> ApiResult<Scratch> {
    let p = e.store().temp_path("archive");
    std::fs::create_dir_all(&p).map_err(|err| ApiError::io("creating a scratch directory", err))?;
    Ok(Scratch(p))
}

pub async fn archive(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let path = call
        .query
        .get("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::BadRequest("path is required".into()))?
        .to_string();
    let name = id.to_string();
    match call.method {
        Method::PUT => put(ctx, call, name, path).await,
        Method::HEAD => {
            let st = ctx
                .blocking(move |e| Ok(e.stat_container_path(&name, &path, false)?))
                .await?;
            let mut r = body::with_status(StatusCode::OK, body::empty());
            r.headers_mut()
                .insert("X-Docker-Container-Path-Stat", stat_header(&st));
            Ok(r)
        }
        _ => get(ctx, name, path).await,
    }
}

async fn get(ctx: Arc<Ctx>, name: String, path: String) -> ApiResult<Resp> {
    let (n, p) = (name.clone(), path.clone());
    let (st, tmp) = ctx
        .blocking(move |e| {
            let st = e.stat_container_path(&n, &p, false)?;
            let tmp = scratch(e)?;
            e.copy_from_container(&n, &p, &tmp.0, true, false)?;
            Ok((st, tmp))
        })
        .await?;
    let mut resp = ctx.stream_bytes("application/x-tar", "archive", move |_, w| {
        let tmp = tmp;
        let mut b = tar::Builder::new(w);
        b.follow_symlinks(false);
        let io = |e| ApiError::io("writing the archive", e);
        // One entry, the path's own name; or, for the root (and a path
        // ending in `/.`), everything in it.
        for item in std::fs::read_dir(&tmp.0).map_err(io)? {
            let item = item.map_err(io)?;
            let (p, name) = (item.path(), item.file_name());
            if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                b.append_dir_all(&name, &p)
            } else {
                b.append_path_with_name(&p, &name)
            }
            .map_err(io)?;
        }
        b.finish().map_err(io)
    });
    resp.headers_mut()
        .insert("X-Docker-Container-Path-Stat", stat_header(&st));
    Ok(resp)
}

/// Unpack `tar` (plain or gzipped, as docker accepts a build context)
/// into `dir`, refusing entries (and link targets) that would reach
/// outside it.
pub fn unpack(tar: impl std::io::BufRead, dir: &Path) -> ApiResult<()> {
    wharf_image::archive::unpack_tree(tar, dir).map_err(|e| ApiError::BadRequest(e.to_string()))
}

async fn put(ctx: Arc<Ctx>, call: Call, name: String, path: String) -> ApiResult<Resp> {
    let (n, p) = (name.clone(), path.clone());
    let st = ctx
        .blocking(move |e| Ok(e.stat_container_path(&n, &p, true)?))
        .await
        .and_then(|st| {
            if go_mode(st.mode) & (1 << 31) == 0 {
                return Err(ApiError::BadRequest(format!(
                    "extraction point is not a directory: {path}"
                )));
            }
            Ok(st)
        });
    if let Err(e) = st {
        body::discard(call.req.into_body()).await;
        return Err(e);
    }
    let reader = BodyReader::new(call.req.into_body());
    ctx.blocking(move |e| {
        let tmp = scratch(e)?;
        unpack(
            std::io::BufReader::with_capacity(256 * 1024, reader),
            &tmp.0,
        )?;
        let entries =
            std::fs::read_dir(&tmp.0).map_err(|e| ApiError::io("reading the archive", e))?;
        for item in entries {
            let item = item.map_err(|e| ApiError::io("reading the archive", e))?;
            e.copy_to_container(&name, &item.path(), &path)?;
        }
        Ok(())
    })
    .await?;
    Ok(body::with_status(StatusCode::OK, body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes() {
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
        assert_eq!(go_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
    }
}

//! `ADD <http(s) URL>`: the source downloaded the way BuildKit's http
//! source does it — kept in a download cache under the store
//! (`cache/http/<sha256 of the URL>/`) with its ETag, asked for again with
//! `If-None-Match` at each build (a 304 reuses the copy), not fetched at
//! all when `--checksum` names the digest the copy already has; a
//! mismatch with `--checksum` fails the step. The file is named after the
//! URL's last path part (or the server's `Content-Disposition`), gets
//! mode 0600 and the `Last-Modified` time, and is never unpacked.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wharf_oci::Digest;
use wharf_store::Store;

use crate::progress::Progress;
use crate::{BuildError, BuildResult};

/// How long a connection or a read may stall.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A downloaded `ADD` source, ready to copy.
#[derive(Debug, Clone)]
pub struct Remote {
    pub url: String,
    /// The downloaded file.
    pub path: PathBuf,
    pub digest: Digest,
    /// The name it takes under a directory destination.
    pub filename: String,
    /// `Last-Modified`, seconds since 1970, when the server sent it.
    pub mtime: Option<i64>,
}

/// What is kept beside a downloaded file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Meta {
    etag: Option<String>,
    last_modified: Option<String>,
    filename: Option<String>,
    digest: String,
}

pub fn is_http(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// The download cache (removed by `builder prune`).
pub fn cache_dir(store: &Store) -> PathBuf {
    store.root().join("cache").join("http")
}

/// Fetch `url` (or reuse the cached copy), checking `checksum`
/// (`sha256:<hex>`) when given; the progress shows a vertex named by the
/// URL, as BuildKit's does.
pub fn fetch(
    store: &Store,
    url: &str,
    checksum: Option<&str>,
    progress: &Progress,
) -> BuildResult<Remote> {
    let want = checksum
        .map(|c| {
            c.parse::<Digest>()
                .map_err(|e| BuildError::Invalid(format!("invalid checksum {c:?}: {e}")))
        })
        .transpose()?;
    let dir = cache_dir(store).join(crate::cache::key(url, &[]));
    let data = dir.join("data");
    let meta_path = dir.join("meta.json");
    let cached: Option<Meta> = fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|_| data.exists());
    let step = progress.step(url);
    let meta = match (&cached, &want) {
        // The copy is what the checksum asks for: no request at all.
        (Some(m), Some(w)) if m.digest == w.to_string() => m.clone(),
        _ => match download(url, cached.as_ref(), &dir, &data) {
            Ok(m) => m,
            Err(e) => {
                step.failed(&e.to_string());
                return Err(e);
            }
        },
    };
    if let Some(w) = &want {
        if meta.digest != w.to_string() {
            let msg = format!("digest mismatch {}: {w}", meta.digest);
            step.failed(&msg);
            return Err(BuildError::Invalid(msg));
        }
    }
    step.done();
    let _ = fs::write(&meta_path, serde_json::to_vec(&meta).unwrap_or_default());
    let digest = meta
        .digest
        .parse::<Digest>()
        .map_err(|e| BuildError::Invalid(format!("cached download of {url}: {e}")))?;
    Ok(Remote {
        url: url.to_string(),
        path: data,
        digest,
        filename: meta.filename.clone().unwrap_or_else(|| url_filename(url)),
        mtime: meta.last_modified.as_deref().and_then(http_date),
    })
}

/// A conditional GET into the cache; the file is replaced only by a
/// complete download (written beside it, then renamed).
fn download(url: &str, cached: Option<&Meta>, dir: &Path, data: &Path) -> BuildResult<Meta> {
    fs::create_dir_all(dir).map_err(|e| BuildError::io("creating the download cache", e))?;
    let part = dir.join(format!("data.{}.part", std::process::id()));
    let etag = cached.and_then(|m| m.etag.as_deref());
    let got = wharf_registry::fetch::fetch_url(url, etag, &part, TIMEOUT).map_err(|e| {
        let _ = fs::remove_file(&part);
        BuildError::NotFound(format!("failed to load cache key: {url}: {e}"))
    })?;
    if got.not_modified {
        if let Some(m) = cached {
            return Ok(m.clone());
        }
    }
    fs::rename(&part, data).map_err(|e| BuildError::io("storing a download", e))?;
    Ok(Meta {
        etag: got.etag,
        last_modified: got.last_modified,
        filename: got.filename,
        digest: got.digest.map(|d| d.to_string()).unwrap_or_default(),
    })
}

/// BuildKit's name for a download: the URL path's last part, `index` for
/// none.
fn url_filename(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once('/').map(|(_, p)| p).unwrap_or("");
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." && name != ".." => name.to_string(),
        _ => "index".to_string(),
    }
}

/// An HTTP date (`Thu, 04 Mar 2021 05:06:07 GMT`) as seconds since 1970.
fn http_date(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(s)
        .ok()
        .map(|t| t.timestamp())
}

/// `build <http(s) URL>`: the context's bytes (a tarball, or a
/// Dockerfile's text), as docker downloads it.
pub fn download_context(store: &Store, url: &str) -> BuildResult<Vec<u8>> {
    let part = store.temp_path("build-download");
    let got = wharf_registry::fetch::fetch_url(url, None, &part, TIMEOUT)
        .map_err(|e| BuildError::NotFound(format!("unable to download remote context {url}: {e}")))
        .and_then(|_| fs::read(&part).map_err(|e| BuildError::io("reading the download", e)));
    let _ = fs::remove_file(&part);
    got
}

/// A context sent as bytes: an archive is unpacked into `dir` (and `None`
/// returned); anything else is a Dockerfile, returned as text.
pub fn unpack_context(data: &[u8], dir: &Path) -> BuildResult<Option<String>> {
    if !wharf_image::archive::looks_like_archive(data) {
        return String::from_utf8(data.to_vec())
            .map(Some)
            .map_err(|_| BuildError::Invalid("the Dockerfile is not UTF-8 text".into()));
    }
    fs::create_dir_all(dir).map_err(|e| BuildError::io("creating the context", e))?;
    wharf_image::archive::unpack_tree(data, dir)?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dates() {
        assert_eq!(url_filename("http://h:1/a/b.tgz?x=1"), "b.tgz");
        assert_eq!(url_filename("https://h/dir/"), "dir");
        assert_eq!(url_filename("https://h"), "index");
        assert_eq!(http_date("Thu, 04 Mar 2021 05:06:07 GMT"), Some(1614834367));
        assert_eq!(http_date("yesterday"), None);
    }
}

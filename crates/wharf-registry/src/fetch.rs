//! Plain HTTP(S) downloads for the builder: `ADD <url>` sources and
//! remote build contexts. A conditional GET (`If-None-Match` with the
//! ETag of the copy the caller already has) lets an unchanged source be
//! reused without downloading it again, as BuildKit does.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use reqwest::{header, Method, StatusCode};
use wharf_oci::{Digest, HashingWriter};

use crate::http_errors::transport_error;
use crate::{tls, RegistryError, RegistryResult};

/// What a download brought.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The server answered 304: the caller's copy is current (nothing
    /// was written).
    pub not_modified: bool,
    pub etag: Option<String>,
    /// The `Last-Modified` header, as sent.
    pub last_modified: Option<String>,
    /// A file name from `Content-Disposition`, if the server gave one.
    pub filename: Option<String>,
    /// The digest of what was written (`None` when not modified).
    pub digest: Option<Digest>,
}

/// GET `url` into the file `dest` (created or replaced); with `etag`, a
/// conditional request. A status other than 2xx/304 is an error naming
/// the URL and status, as BuildKit words it.
pub fn fetch_url(
    url: &str,
    etag: Option<&str>,
    dest: &Path,
    timeout: Duration,
) -> RegistryResult<Fetched> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RegistryError::io("starting the HTTP client", e))?;
    rt.block_on(fetch(url, etag, dest, timeout))
}

async fn fetch(
    url: &str,
    etag: Option<&str>,
    dest: &Path,
    timeout: Duration,
) -> RegistryResult<Fetched> {
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls::verified(Vec::new())?)
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RegistryError::Invalid(format!("HTTP client setup: {e}")))?;
    let mut req = client.get(url);
    if let Some(e) = etag {
        req = req.header(header::IF_NONE_MATCH, e);
    }
    let mut resp = req
        .send()
        .await
        .map_err(|e| transport_error(&Method::GET, url, e, timeout))?;
    let text = |name: header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut out = Fetched {
        etag: text(header::ETAG),
        last_modified: text(header::LAST_MODIFIED),
        filename: text(header::CONTENT_DISPOSITION).and_then(|d| disposition_filename(&d)),
        ..Default::default()
    };
    let status = resp.status();
    if status == StatusCode::NOT_MODIFIED && etag.is_some() {
        out.not_modified = true;
        return Ok(out);
    }
    if !status.is_success() {
        return Err(if status == StatusCode::NOT_FOUND {
            RegistryError::NotFound(format!("invalid response status {status}"))
        } else {
            RegistryError::Protocol(format!("invalid response status {status}"))
        });
    }
    let io = |e| RegistryError::io(format!("writing {}", dest.display()), e);
    let file = std::fs::File::create(dest).map_err(io)?;
    let mut w = HashingWriter::new(file);
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(&Method::GET, url, e, timeout))?
    {
        w.write_all(&chunk).map_err(io)?;
    }
    let (digest, _, file) = w.finish();
    file.sync_all().map_err(io)?;
    out.digest = Some(digest);
    Ok(out)
}

/// `attachment; filename="x.tar.gz"` → `x.tar.gz` (no directories).
fn disposition_filename(d: &str) -> Option<String> {
    d.split(';').find_map(|part| {
        let v = part.trim().strip_prefix("filename=")?;
        let v = v.trim_matches('"');
        let base = v.rsplit('/').next().unwrap_or(v);
        (!base.is_empty() && base != "." && base != "..").then(|| base.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_names() {
        let f = |d: &str| disposition_filename(d);
        assert_eq!(
            f("attachment; filename=\"a.tgz\"").as_deref(),
            Some("a.tgz")
        );
        assert_eq!(f("attachment; filename=../b").as_deref(), Some("b"));
        assert_eq!(f("inline"), None);
    }
}

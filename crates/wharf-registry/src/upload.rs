//! Blob uploads: existence checks, cross-repository mounts, monolithic PUT
//! of a blob wharf has, and the streamed PATCH of one being compressed
//! while it uploads.

use std::io::{self, Write};

use bytes::Bytes;
use futures_util::stream;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Body, Method, Response, StatusCode};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use wharf_oci::{Digest, HashingWriter};

use crate::auth::Scopes;
use crate::client::RegistryClient;
use crate::http_errors::status_error;
use crate::progress::{layer, LayerStatus, Progress};
use crate::{RegistryError, RegistryResult};

const OCTETS: &str = "application/octet-stream";

/// `HEAD /v2/<path>/blobs/<digest>`: does the repository have it?
pub(crate) async fn exists(
    client: &RegistryClient,
    path: &str,
    digest: &Digest,
) -> RegistryResult<bool> {
    let api = format!("/v2/{path}/blobs/{digest}");
    let resp = client
        .send(Method::HEAD, &api, &Scopes::push(path), |rb| rb)
        .await?;
    match resp.status() {
        s if s.is_success() => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(status_error(
            resp,
            &format!("checking blob {digest} in {}/{path}", client.host),
        )
        .await),
    }
}

/// Ask the registry to link `digest` from repository `from` into `path`
/// (no data moves). False when it cannot (it then offers an upload, which
/// is cancelled).
pub(crate) async fn mount(
    client: &RegistryClient,
    path: &str,
    digest: &Digest,
    from: &str,
) -> RegistryResult<bool> {
    let api = format!("/v2/{path}/blobs/uploads/?mount={digest}&from={from}");
    let scopes = Scopes::push(path).with_pull(from);
    let resp = client
        .send(Method::POST, &api, &scopes, |rb| {
            rb.header(CONTENT_LENGTH, "0")
        })
        .await?;
    match resp.status() {
        StatusCode::CREATED => Ok(true),
        StatusCode::ACCEPTED => {
            if let Some(loc) = location(&resp) {
                let _ = client.send(Method::DELETE, &loc, &scopes, |rb| rb).await;
            }
            Ok(false)
        }
        // Denied access to `from`, say: mounting is only an optimisation.
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Ok(false),
        _ => Err(status_error(resp, &format!("mounting blob {digest} from {from}")).await),
    }
}

fn location(resp: &Response) -> Option<String> {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Start an upload session; returns its location.
async fn start(client: &RegistryClient, path: &str) -> RegistryResult<String> {
    let api = format!("/v2/{path}/blobs/uploads/");
    let resp = client
        .send(Method::POST, &api, &Scopes::push(path), |rb| {
            rb.header(CONTENT_LENGTH, "0")
        })
        .await?;
    if resp.status() != StatusCode::ACCEPTED {
        return Err(status_error(
            resp,
            &format!("starting an upload to {}/{path}", client.host),
        )
        .await);
    }
    location(&resp).ok_or_else(|| {
        RegistryError::Protocol(format!("{}: upload without a Location", client.host))
    })
}

fn with_digest(loc: &str, digest: &Digest) -> String {
    let sep = if loc.contains('?') { '&' } else { '?' };
    format!("{loc}{sep}digest={digest}")
}

async fn finish(resp: Response, what: &str) -> RegistryResult<()> {
    if resp.status() != StatusCode::CREATED && !resp.status().is_success() {
        return Err(status_error(resp, what).await);
    }
    Ok(())
}

/// Upload bytes in memory (a config) in one PUT.
pub(crate) async fn put_bytes(
    client: &RegistryClient,
    path: &str,
    digest: &Digest,
    data: Bytes,
) -> RegistryResult<()> {
    let loc = start(client, path).await?;
    let resp = client
        .send(
            Method::PUT,
            &with_digest(&loc, digest),
            &Scopes::push(path),
            |rb| rb.header(CONTENT_TYPE, OCTETS).body(data.clone()),
        )
        .await?;
    finish(resp, &format!("uploading blob {digest}")).await
}

/// Upload a stored blob file in one PUT (monolithic), with progress.
pub(crate) async fn put_file(
    client: &RegistryClient,
    path: &str,
    digest: &Digest,
    file: std::path::PathBuf,
    size: u64,
    progress: &dyn Progress,
    id: &str,
) -> RegistryResult<()> {
    let loc = start(client, path).await?;
    let f = tokio::fs::File::open(&file)
        .await
        .map_err(|e| RegistryError::io(format!("opening {}", file.display()), e))?;
    let (tx, rx) = mpsc::channel::<u64>(64);
    let body = stream::unfold((f, 0u64, tx), |(mut f, sent, tx)| async move {
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                let _ = tx.try_send(sent + n as u64);
                Some((
                    Ok::<_, io::Error>(Bytes::from(buf)),
                    (f, sent + n as u64, tx),
                ))
            }
            Err(e) => Some((Err(e), (f, sent, tx))),
        }
    });
    let url = with_digest(&loc, digest);
    let scopes = Scopes::push(path);
    let send = client.send_once(Method::PUT, &url, &scopes, |rb| {
        rb.header(CONTENT_TYPE, OCTETS)
            .header(CONTENT_LENGTH, size)
            .body(Body::wrap_stream(body))
    });
    let resp = report_while(send, rx, progress, id, size).await?;
    finish(resp, &format!("uploading blob {digest}")).await
}

/// Drive `fut` while turning byte counts from `rx` into progress events.
async fn report_while<T>(
    fut: impl std::future::Future<Output = T>,
    mut rx: mpsc::Receiver<u64>,
    progress: &dyn Progress,
    id: &str,
    total: u64,
) -> T {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return out,
            Some(n) = rx.recv() => layer(progress, id, LayerStatus::Pushing { current: n, total }),
        }
    }
}

/// The writing end of a streamed upload: what the compressor writes goes
/// to the registry, to a local file (kept as the blob) and through a hash.
pub(crate) struct UploadSink {
    tx: mpsc::Sender<Bytes>,
    pub file: HashingWriter<io::BufWriter<std::fs::File>>,
    buf: Vec<u8>,
}

impl UploadSink {
    pub fn new(tx: mpsc::Sender<Bytes>, file: std::fs::File) -> UploadSink {
        UploadSink {
            tx,
            file: HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file)),
            buf: Vec::with_capacity(1 << 20),
        }
    }

    fn ship(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(1 << 20),
        ));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }
}

impl Write for UploadSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.file.write_all(data)?;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 1 << 20 {
            self.ship()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.ship()?;
        self.file.flush()
    }
}

/// Stream chunks from `rx` as one PATCH (chunked transfer encoding, the
/// way docker uploads while compressing), then commit with the digest the
/// compressor computed, which `digest` yields once the stream has ended.
pub(crate) async fn patch_stream(
    client: &RegistryClient,
    path: &str,
    rx: mpsc::Receiver<Bytes>,
    digest: impl std::future::Future<Output = RegistryResult<Digest>>,
    progress: &dyn Progress,
    id: &str,
) -> RegistryResult<Digest> {
    let loc = start(client, path).await?;
    let (ptx, prx) = mpsc::channel::<u64>(64);
    let body = stream::unfold((rx, 0u64, ptx), |(mut rx, sent, ptx)| async move {
        let chunk = rx.recv().await?;
        let sent = sent + chunk.len() as u64;
        let _ = ptx.try_send(sent);
        Some((Ok::<_, io::Error>(chunk), (rx, sent, ptx)))
    });
    let scopes = Scopes::push(path);
    let send = client.send_once(Method::PATCH, &loc, &scopes, |rb| {
        rb.header(CONTENT_TYPE, OCTETS)
            .body(Body::wrap_stream(body))
    });
    let resp = report_while(send, prx, progress, id, 0).await?;
    if resp.status() != StatusCode::ACCEPTED && !resp.status().is_success() {
        return Err(status_error(
            resp,
            &format!("uploading a layer to {}/{path}", client.host),
        )
        .await);
    }
    let loc = location(&resp).unwrap_or(loc);
    let digest = digest.await?;
    let resp = client
        .send(
            Method::PUT,
            &with_digest(&loc, &digest),
            &Scopes::push(path),
            |rb| rb.header(CONTENT_LENGTH, "0"),
        )
        .await?;
    finish(resp, &format!("uploading blob {digest}")).await?;
    Ok(digest)
}

/// PUT a manifest under `reference` (a tag); returns the registry's digest.
pub(crate) async fn put_manifest(
    client: &RegistryClient,
    path: &str,
    reference: &str,
    media_type: &str,
    bytes: Bytes,
) -> RegistryResult<()> {
    let api = format!("/v2/{path}/manifests/{reference}");
    let resp = client
        .send(Method::PUT, &api, &Scopes::push(path), |rb| {
            rb.header(CONTENT_TYPE, media_type).body(bytes.clone())
        })
        .await?;
    if !resp.status().is_success() {
        return Err(status_error(
            resp,
            &format!("pushing the manifest of {}/{path}:{reference}", client.host),
        )
        .await);
    }
    Ok(())
}

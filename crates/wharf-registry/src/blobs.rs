//! Blob downloads as blocking readers: an async task streams the blob
//! (resuming with `Range` after a dropped connection, with docker's
//! retries) into a channel that the unpacking thread reads like a file.

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::header::RANGE;
use reqwest::{Method, StatusCode};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use wharf_oci::Digest;

use crate::auth::Scopes;
use crate::client::RegistryClient;
use crate::http_errors::{status_error, transport_error};
use crate::progress::{layer, LayerStatus, Progress};
use crate::retry::{backoff, ATTEMPTS};
use crate::{RegistryError, RegistryResult};

enum Item {
    Data(Bytes),
    Retry(u64),
    Failed,
}

/// Where the download task leaves its error for the puller to report
/// (the unpacker only sees "the stream broke").
pub(crate) type ErrorSlot = Arc<Mutex<Option<RegistryError>>>;

pub(crate) struct BlobReader<'p> {
    rx: mpsc::Receiver<Item>,
    cur: Bytes,
    progress: &'p dyn Progress,
    id: String,
    done: u64,
    total: u64,
    reported: u64,
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Item::Data(b)) => self.cur = b,
                Some(Item::Retry(seconds)) => {
                    layer(self.progress, &self.id, LayerStatus::Retrying { seconds })
                }
                Some(Item::Failed) => return Err(io::Error::other("download failed")),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        self.done += n as u64;
        // A bar update per 512 KiB is plenty for a terminal.
        if self.done - self.reported >= 512 << 10 || self.done == self.total {
            self.reported = self.done;
            layer(
                self.progress,
                &self.id,
                LayerStatus::Downloading {
                    current: self.done,
                    total: self.total,
                },
            );
        }
        Ok(n)
    }
}

/// Start downloading `digest` of repository `path` from byte `offset`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn download<'p>(
    rt: &Handle,
    client: Arc<RegistryClient>,
    path: &str,
    digest: &Digest,
    size: u64,
    offset: u64,
    progress: &'p dyn Progress,
    id: &str,
    slot: ErrorSlot,
) -> BlobReader<'p> {
    let (tx, rx) = mpsc::channel(32);
    let path = path.to_string();
    let digest = digest.clone();
    rt.spawn(async move {
        let mut offset = offset;
        let mut attempt = 0;
        loop {
            match fetch(&client, &path, &digest, &mut offset, &tx).await {
                Ok(()) => return,
                Err(e) if e.is_transient() && attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    let wait = backoff(attempt);
                    tracing::debug!(%digest, error = %e, ?wait, "blob download failed; retrying");
                    let _ = tx.send(Item::Retry(wait.as_secs().max(1))).await;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    *slot.lock().expect("error slot") = Some(e);
                    let _ = tx.send(Item::Failed).await;
                    return;
                }
            }
        }
    });
    BlobReader {
        rx,
        cur: Bytes::new(),
        progress,
        id: id.to_string(),
        done: offset,
        total: size,
        reported: 0,
    }
}

/// One attempt: GET from `offset`, forwarding bytes until the end.
async fn fetch(
    client: &RegistryClient,
    path: &str,
    digest: &Digest,
    offset: &mut u64,
    tx: &mpsc::Sender<Item>,
) -> RegistryResult<()> {
    let api = format!("/v2/{path}/blobs/{digest}");
    let from = *offset;
    let mut resp = client
        .send(Method::GET, &api, &Scopes::pull(path), |rb| {
            if from > 0 {
                rb.header(RANGE, format!("bytes={from}-"))
            } else {
                rb
            }
        })
        .await?;
    if !resp.status().is_success() {
        return Err(status_error(resp, &format!("fetching blob {digest}")).await);
    }
    // A server that ignores Range sends everything again.
    let mut skip = if resp.status() == StatusCode::PARTIAL_CONTENT {
        0
    } else {
        from
    };
    let url = resp.url().to_string();
    loop {
        match resp.chunk().await {
            Ok(Some(mut b)) => {
                if skip > 0 {
                    let n = (skip as usize).min(b.len());
                    let _ = b.split_to(n);
                    skip -= n as u64;
                }
                if b.is_empty() {
                    continue;
                }
                *offset += b.len() as u64;
                if tx.send(Item::Data(b)).await.is_err() {
                    return Ok(()); // the reader gave up; its error is reported
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(transport_error(&Method::GET, &url, e, client.timeout())),
        }
    }
}

/// Fetch a small blob (a config) whole, verifying its digest.
pub(crate) async fn fetch_small(
    client: &RegistryClient,
    path: &str,
    digest: &Digest,
) -> RegistryResult<Vec<u8>> {
    let api = format!("/v2/{path}/blobs/{digest}");
    let resp = client
        .send(Method::GET, &api, &Scopes::pull(path), |rb| rb)
        .await?;
    if !resp.status().is_success() {
        return Err(status_error(resp, &format!("fetching blob {digest}")).await);
    }
    let body = read_capped(resp, client, &format!("blob {digest}")).await?;
    let got = Digest::of(&body);
    if got != *digest {
        return Err(RegistryError::Protocol(format!(
            "blob {digest} failed verification: its content has digest {got}"
        )));
    }
    Ok(body.to_vec())
}

/// Larger than any config or manifest; keeps a hostile registry from
/// filling memory with a "config".
pub(crate) const MAX_METADATA: usize = 64 << 20;

/// A small answer's body, refused past [`MAX_METADATA`].
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    client: &RegistryClient,
    what: &str,
) -> RegistryResult<Vec<u8>> {
    let url = resp.url().to_string();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(b)) => {
                body.extend_from_slice(&b);
                if body.len() > MAX_METADATA {
                    return Err(RegistryError::Protocol(format!(
                        "{what} from {url} is larger than {MAX_METADATA} bytes"
                    )));
                }
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(transport_error(&Method::GET, &url, e, client.timeout())),
        }
    }
}

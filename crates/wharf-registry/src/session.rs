//! A session with one registry: the async runtime the HTTP client runs
//! on, and the client with the user's credentials for that host. The
//! crate's API is blocking; sessions own the runtime so no caller needs one.

use std::future::Future;
use std::sync::Arc;

use reqwest::Method;

use crate::auth::Scopes;
use crate::client::RegistryClient;
use crate::credentials::{Credential, DockerConfig};
use crate::http_errors::status_error;
use crate::manifest::{Manifest, ACCEPT};
use crate::options::RegistryOptions;
use crate::{RegistryError, RegistryResult};
use wharf_oci::Digest;

pub struct Session {
    rt: tokio::runtime::Runtime,
    pub(crate) client: Arc<RegistryClient>,
    pub(crate) opts: RegistryOptions,
}

/// A fetched manifest with its digest (verified) and media type.
pub(crate) struct Fetched {
    pub manifest: Manifest,
    pub media_type: String,
    pub digest: Digest,
    pub bytes: Vec<u8>,
}

impl Session {
    /// A session with the credentials `config.json` holds for `host`.
    pub fn open(opts: &RegistryOptions, host: &str) -> RegistryResult<Session> {
        let cred = DockerConfig::load(&opts.config_dir)?.get(host)?;
        Session::with_credential(opts, host, cred)
    }

    pub fn with_credential(
        opts: &RegistryOptions,
        host: &str,
        cred: Option<Credential>,
    ) -> RegistryResult<Session> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wharf-registry")
            .enable_all()
            .build()
            .map_err(|e| RegistryError::io("starting the registry client", e))?;
        Ok(Session {
            rt,
            client: Arc::new(RegistryClient::new(host, opts, cred)),
            opts: opts.clone(),
        })
    }

    pub fn host(&self) -> &str {
        &self.client.host
    }

    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.handle()
    }

    /// Check the session's credentials against the registry (`login`).
    pub fn check_login(&self) -> RegistryResult<()> {
        self.block_on(self.client.login_check())
    }

    /// GET a manifest by tag or digest; verify it against the digest asked
    /// for, or against the one the registry says it has.
    pub(crate) fn manifest(
        &self,
        path: &str,
        reference: &str,
        shown: &str,
    ) -> RegistryResult<Fetched> {
        self.block_on(async {
            let api = format!("/v2/{path}/manifests/{reference}");
            let resp = self
                .client
                .send(Method::GET, &api, &Scopes::pull(path), |rb| {
                    rb.header(reqwest::header::ACCEPT, ACCEPT)
                })
                .await?;
            if !resp.status().is_success() {
                return Err(match status_error(resp, "").await {
                    RegistryError::NotFound(m) => RegistryError::NotFound(format!(
                        "manifest for {shown} not found{m}"
                    )),
                    RegistryError::Unauthorized(m) => RegistryError::Unauthorized(format!(
                        "pull access denied for {shown}, repository does not exist or may require 'wharf login'{m}"
                    )),
                    other => other.context(&format!("fetching manifest of {shown}")),
                });
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let claimed = resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<Digest>().ok());
            let bytes =
                crate::blobs::read_capped(resp, &self.client, &format!("the manifest of {shown}"))
                    .await?;
            let digest = Digest::of(&bytes);
            let expected = reference.parse::<Digest>().ok().or(claimed);
            if let Some(want) = expected {
                if want != digest {
                    return Err(RegistryError::Protocol(format!(
                        "manifest verification failed for {shown}: expected digest {want}, got {digest}"
                    )));
                }
            }
            let (manifest, media_type) = Manifest::parse(&content_type, &bytes)?;
            Ok(Fetched {
                manifest,
                media_type,
                digest,
                bytes,
            })
        })
    }

    /// `GET /v2/<path>/tags/list`, following `Link` pagination.
    pub fn tags(&self, path: &str) -> RegistryResult<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        self.block_on(async {
            let mut out = Vec::new();
            let mut next = Some(format!("/v2/{path}/tags/list"));
            while let Some(api) = next.take() {
                let resp = self
                    .client
                    .send(Method::GET, &api, &Scopes::pull(path), |rb| rb)
                    .await?;
                if !resp.status().is_success() {
                    return Err(status_error(
                        resp,
                        &format!("listing tags of {}/{path}", self.host()),
                    )
                    .await);
                }
                next = resp
                    .headers()
                    .get(reqwest::header::LINK)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| l.split_once('<'))
                    .and_then(|(_, r)| r.split_once('>'))
                    .map(|(u, _)| u.to_string());
                let body = resp.bytes().await.unwrap_or_default();
                let t: Tags = serde_json::from_slice(&body).map_err(|e| {
                    RegistryError::Protocol(format!("invalid tag list of {path}: {e}"))
                })?;
                out.extend(t.tags.unwrap_or_default());
            }
            out.sort();
            Ok(out)
        })
    }
}

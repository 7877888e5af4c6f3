//! One registry host: endpoint choice (HTTPS, or HTTP for insecure
//! registries) and requests, authenticated as the registry asks
//! (see [`crate::token`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tokio::sync::OnceCell;

use crate::auth::{Challenge, Scopes};
use crate::credentials::Credential;
use crate::http_errors::transport_error;
use crate::options::RegistryOptions;
use crate::token::challenge_of;
use crate::{tls, RegistryError, RegistryResult};

/// Where the API of a registry host is.
pub(crate) fn api_host(host: &str) -> &str {
    if host == wharf_oci::reference::DEFAULT_DOMAIN {
        "registry-1.docker.io"
    } else {
        host
    }
}

pub(crate) struct Endpoint {
    pub base: String,
    pub client: reqwest::Client,
}

pub struct RegistryClient {
    /// As written in references: `127.0.0.1:5000`, `docker.io`.
    pub host: String,
    pub(crate) opts: RegistryOptions,
    pub(crate) credential: Option<Credential>,
    endpoint: OnceCell<Endpoint>,
    /// How the registry asked to authenticate (from `GET /v2/`).
    pub(crate) challenge: Mutex<Option<Challenge>>,
    /// Bearer tokens by scope set.
    pub(crate) tokens: Mutex<HashMap<String, String>>,
}

fn build_client(tls: rustls::ClientConfig, timeout: Duration) -> RegistryResult<reqwest::Client> {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .tcp_nodelay(true)
        .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RegistryError::Invalid(format!("HTTP client setup: {e}")))
}

impl RegistryClient {
    pub fn new(
        host: &str,
        opts: &RegistryOptions,
        credential: Option<Credential>,
    ) -> RegistryClient {
        RegistryClient {
            host: host.to_string(),
            opts: opts.clone(),
            credential,
            endpoint: OnceCell::new(),
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.opts.timeout
    }

    /// Candidate endpoints in docker's order: HTTPS, then (insecure only) HTTP.
    fn candidates(&self) -> RegistryResult<Vec<Endpoint>> {
        let host = api_host(&self.host);
        let cas = tls::registry_cas(&self.opts.certs_dir, host)?;
        let insecure = self.opts.is_insecure(host);
        let https_tls = if insecure && cas.is_empty() {
            tls::unverified()?
        } else {
            tls::verified(cas)?
        };
        let mut out = vec![Endpoint {
            base: format!("https://{host}"),
            client: build_client(https_tls, self.opts.timeout)?,
        }];
        if insecure {
            out.push(Endpoint {
                base: format!("http://{host}"),
                client: build_client(tls::unverified()?, self.opts.timeout)?,
            });
        }
        Ok(out)
    }

    /// Find the endpoint that speaks the registry API (GET /v2/ answers 200
    /// or 401) and remember its auth challenge.
    pub(crate) async fn endpoint(&self) -> RegistryResult<&Endpoint> {
        self.endpoint
            .get_or_try_init(|| async {
                let mut first_error = None;
                for ep in self.candidates()? {
                    let url = format!("{}/v2/", ep.base);
                    match ep.client.get(&url).send().await {
                        Ok(resp)
                            if resp.status().is_success()
                                || resp.status() == StatusCode::UNAUTHORIZED =>
                        {
                            *self.challenge.lock().expect("challenge lock") =
                                challenge_of(resp.headers());
                            return Ok(ep);
                        }
                        Ok(resp) => {
                            let status = resp.status();
                            first_error.get_or_insert(RegistryError::Unreachable(format!(
                                "Get \"{url}\": unexpected status {status} (is {} a registry?)",
                                self.host
                            )));
                        }
                        Err(e) => {
                            first_error.get_or_insert(transport_error(
                                &Method::GET,
                                &url,
                                e,
                                self.opts.timeout,
                            ));
                        }
                    }
                }
                Err(first_error.expect("at least one endpoint"))
            })
            .await
    }

    /// Reach the registry (and learn how it authenticates).
    pub async fn ping(&self) -> RegistryResult<()> {
        self.endpoint().await.map(|_| ())
    }

    /// The absolute URL of an API path (`/v2/...`) or a registry-given location.
    pub async fn url(&self, path: &str) -> RegistryResult<String> {
        if path.starts_with("http://") || path.starts_with("https://") {
            return Ok(path.to_string());
        }
        Ok(format!("{}{path}", self.endpoint().await?.base))
    }

    /// Send a request; `build` may be called twice (a 401 with a fresh
    /// challenge gets one retry with a new token), so bodies it attaches
    /// must be cheap to make again.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        scopes: &Scopes,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> RegistryResult<Response> {
        let ep = self.endpoint().await?;
        let url = self.url(path).await?;
        for attempt in 0..2 {
            let rb = build(ep.client.request(method.clone(), &url));
            let rb = self.authorize(rb, scopes).await?;
            let resp = rb
                .send()
                .await
                .map_err(|e| transport_error(&method, &url, e, self.opts.timeout))?;
            if resp.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                if let Some(c @ Challenge::Bearer { .. }) = challenge_of(resp.headers()) {
                    // Expired token, or a registry that wants other scopes.
                    *self.challenge.lock().expect("challenge lock") = Some(c);
                    self.tokens
                        .lock()
                        .expect("token lock")
                        .remove(&scopes.key());
                    continue;
                }
            }
            return Ok(resp);
        }
        unreachable!("the loop returns on its second pass")
    }

    /// Send once, with a body that cannot be made again (a stream).
    pub async fn send_once(
        &self,
        method: Method,
        path: &str,
        scopes: &Scopes,
        rb: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> RegistryResult<Response> {
        let ep = self.endpoint().await?;
        let url = self.url(path).await?;
        let req = self
            .authorize(rb(ep.client.request(method.clone(), &url)), scopes)
            .await?;
        req.send()
            .await
            .map_err(|e| transport_error(&method, &url, e, self.opts.timeout))
    }
}

//! One registry host: endpoint choice (HTTPS, or HTTP for insecure
//! registries), authentication, and requests with docker's error wording.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::auth::{parse_challenge, Challenge, Scopes};
use crate::credentials::Credential;
use crate::options::RegistryOptions;
use crate::{tls, RegistryError, RegistryResult};

/// Where the API of a registry host is.
pub(crate) fn api_host(host: &str) -> &str {
    if host == wharf_oci::reference::DEFAULT_DOMAIN {
        "registry-1.docker.io"
    } else {
        host
    }
}

struct Endpoint {
    base: String,
    client: reqwest::Client,
}

pub struct RegistryClient {
    /// As written in references: `127.0.0.1:5000`, `docker.io`.
    pub host: String,
    opts: RegistryOptions,
    credential: Option<Credential>,
    endpoint: OnceCell<Endpoint>,
    challenge: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, String>>,
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

/// The innermost causes of an error, joined: reqwest's own wording says
/// little ("error sending request"), the cause names DNS, refusal, TLS.
pub(crate) fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    // Drop reqwest's generic outer lines when there is something more precise.
    if parts.len() > 1 {
        parts.retain(|p| !p.starts_with("error sending request") && !p.starts_with("client error"));
    }
    parts.join(": ")
}

/// A transport failure, worded like Go's `Get "url": cause`.
pub(crate) fn transport_error(
    method: &Method,
    url: &str,
    e: reqwest::Error,
    timeout: Duration,
) -> RegistryError {
    let verb = match *method {
        Method::GET => "Get",
        Method::HEAD => "Head",
        Method::PUT => "Put",
        Method::POST => "Post",
        Method::PATCH => "Patch",
        Method::DELETE => "Delete",
        _ => method.as_str(),
    };
    let cause = if e.is_timeout() {
        format!(
            "timeout: no answer from the registry within {}s",
            timeout.as_secs_f64()
        )
    } else {
        causes(&e)
    };
    RegistryError::Unreachable(format!("{verb} \"{url}\": {cause}"))
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A registry's error answer as docker prints it: `manifest unknown: manifest unknown`.
pub(crate) async fn error_text(resp: Response) -> String {
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    if let Ok(b) = serde_json::from_slice::<ErrorBody>(&body) {
        let msgs: Vec<String> = b
            .errors
            .iter()
            .map(|e| {
                let code = e.code.to_ascii_lowercase().replace('_', " ");
                if e.message.is_empty() {
                    code
                } else {
                    format!("{code}: {}", e.message)
                }
            })
            .collect();
        if !msgs.is_empty() {
            return msgs.join(", ");
        }
    }
    format!("received unexpected HTTP status: {status}")
}

/// Map a non-success answer to an error of the right kind.
pub(crate) async fn status_error(resp: Response, what: &str) -> RegistryError {
    let status = resp.status();
    let text = error_text(resp).await;
    let msg = format!("{what}: {text}");
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::Unauthorized(msg),
        StatusCode::NOT_FOUND => RegistryError::NotFound(msg),
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            RegistryError::Unreachable(msg)
        }
        _ => RegistryError::Protocol(msg),
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
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
    async fn endpoint(&self) -> RegistryResult<&Endpoint> {
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

    /// Check that the credentials (if any) are accepted: docker's login.
    pub async fn login_check(&self) -> RegistryResult<()> {
        let ep = self.endpoint().await?;
        let url = format!("{}/v2/", ep.base);
        let challenge = self.challenge.lock().expect("challenge lock").clone();
        let resp = match challenge {
            None => return Ok(()),
            Some(Challenge::Basic) => self.with_basic(ep.client.get(&url)),
            Some(Challenge::Bearer { .. }) => {
                let token = self.token(&Scopes::default()).await?;
                ep.client.get(&url).bearer_auth(token)
            }
        }
        .send()
        .await
        .map_err(|e| transport_error(&Method::GET, &url, e, self.opts.timeout))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(RegistryError::Unauthorized(format!(
                "login attempt to {url} failed with status: {}",
                resp.status()
            )))
        }
    }

    fn with_basic(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.credential {
            Some(c) => rb.basic_auth(&c.username, Some(&c.secret)),
            None => rb,
        }
    }

    /// A bearer token for `scopes` from the challenge's realm (cached).
    async fn token(&self, scopes: &Scopes) -> RegistryResult<String> {
        let key = scopes.key();
        if let Some(t) = self.tokens.lock().expect("token lock").get(&key) {
            return Ok(t.clone());
        }
        let Some(Challenge::Bearer { realm, service }) =
            self.challenge.lock().expect("challenge lock").clone()
        else {
            return Ok(String::new());
        };
        let ep = self.endpoint().await?;
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(s) = &service {
            query.push(("service", s.clone()));
        }
        for s in &scopes.0 {
            query.push(("scope", s.clone()));
        }
        let mut rb = ep.client.get(&realm).query(&query);
        if let Some(c) = &self.credential {
            if c.username != "<token>" {
                query.push(("account", c.username.clone()));
                rb = ep.client.get(&realm).query(&query);
                rb = rb.basic_auth(&c.username, Some(&c.secret));
            }
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| transport_error(&Method::GET, &realm, e, self.opts.timeout))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let text = error_text(resp).await;
            let msg = if status == StatusCode::UNAUTHORIZED {
                format!("getting a token from {realm}: unauthorized: incorrect username or password ({text})")
            } else {
                format!("getting a token from {realm}: {text}")
            };
            return Err(RegistryError::Unauthorized(msg));
        }
        let answer: TokenAnswer = resp.json_like().await.map_err(|e| {
            RegistryError::Protocol(format!("invalid token answer from {realm}: {e}"))
        })?;
        let token = if answer.token.is_empty() {
            answer.access_token
        } else {
            answer.token
        };
        self.tokens
            .lock()
            .expect("token lock")
            .insert(key, token.clone());
        Ok(token)
    }

    async fn authorize(
        &self,
        rb: RequestBuilder,
        scopes: &Scopes,
    ) -> RegistryResult<RequestBuilder> {
        let challenge = self.challenge.lock().expect("challenge lock").clone();
        Ok(match challenge {
            None => rb,
            Some(Challenge::Basic) => self.with_basic(rb),
            Some(Challenge::Bearer { .. }) => {
                let t = self.token(scopes).await?;
                if t.is_empty() {
                    rb
                } else {
                    rb.header(AUTHORIZATION, format!("Bearer {t}"))
                }
            }
        })
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

fn challenge_of(headers: &HeaderMap) -> Option<Challenge> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(parse_challenge)
        // Docker prefers bearer when a registry offers both.
        .max_by_key(|c| matches!(c, Challenge::Bearer { .. }))
}

/// Small JSON answers without reqwest's `json` feature.
trait JsonLike {
    async fn json_like<T: serde::de::DeserializeOwned>(self) -> Result<T, String>;
}

impl JsonLike for Response {
    async fn json_like<T: serde::de::DeserializeOwned>(self) -> Result<T, String> {
        let b = self.bytes().await.map_err(|e| causes(&e))?;
        serde_json::from_slice(&b).map_err(|e| e.to_string())
    }
}

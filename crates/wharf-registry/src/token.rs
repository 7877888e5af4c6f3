//! Authenticating requests: Basic credentials, or bearer tokens fetched
//! from the challenge's realm with the user's credentials, one per set of
//! repository scopes, cached for the session.

use reqwest::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;

use crate::auth::{parse_challenge, Challenge, Scopes};
use crate::client::RegistryClient;
use crate::http_errors::{causes, error_text, transport_error};
use crate::{RegistryError, RegistryResult};

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
}

impl RegistryClient {
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
    pub(crate) async fn token(&self, scopes: &Scopes) -> RegistryResult<String> {
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
        // Identity tokens (`<token>`) need docker's OAuth flow, which wharf
        // does not speak; they go anonymous.
        let basic = self.credential.as_ref().filter(|c| c.username != "<token>");
        if let Some(c) = basic {
            query.push(("account", c.username.clone()));
        }
        let mut rb = ep.client.get(&realm).query(&query);
        if let Some(c) = basic {
            rb = rb.basic_auth(&c.username, Some(&c.secret));
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

    pub(crate) async fn authorize(
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
}

pub(crate) fn challenge_of(headers: &HeaderMap) -> Option<Challenge> {
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

//! Registry failures in docker's words: transport errors as Go prints
//! them (`Get "url": cause`), error answers as `code: message`.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;

use crate::RegistryError;

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

//! The distribution auth flow docker uses: ping `/v2/`, read the
//! `WWW-Authenticate` challenge, then either send Basic credentials with
//! every request or trade them at the challenge's realm for a bearer token
//! per set of repository scopes.

use std::collections::HashMap;

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Parse `Bearer realm="https://x/token",service="reg",scope="..."` or
/// `Basic realm="..."`; None for schemes docker does not speak.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let params = parse_params(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
        }),
        _ => None,
    }
}

/// `k="v", k2=v2` with quoted strings that may hold commas and `\"`.
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

/// `repository:<path>:<actions>` scopes a request needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Scopes(pub Vec<String>);

impl Scopes {
    pub fn pull(path: &str) -> Scopes {
        Scopes(vec![format!("repository:{path}:pull")])
    }
    pub fn push(path: &str) -> Scopes {
        Scopes(vec![format!("repository:{path}:pull,push")])
    }
    pub fn with_pull(mut self, path: &str) -> Scopes {
        let s = format!("repository:{path}:pull");
        if !self.0.contains(&s) {
            self.0.push(s);
        }
        self
    }
    pub fn key(&self) -> String {
        self.0.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_style_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }
}

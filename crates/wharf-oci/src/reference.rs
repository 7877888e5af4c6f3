//! Image references, parsed and normalized like Docker's
//! `distribution/reference` (`ParseNormalizedNamed`): `busybox` means
//! `docker.io/library/busybox:latest`, `host:5000/a/b:tag@sha256:...` keeps
//! its registry, and the familiar (short) form is what tables print.

use std::fmt;
use std::str::FromStr;

use crate::Digest;

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
pub const DEFAULT_TAG: &str = "latest";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A fully normalized image reference: always has a domain; `tag` is `None`
/// only when the user gave neither tag nor digest and asked not to default
/// it (see [`Reference::with_default_tag`]) or when a digest was given.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format: repository name must have at least one component")]
    NameEmpty,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format: repository name must not be more than 255 characters")]
    NameTooLong,
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("invalid reference format: {0:?}")]
    InvalidFormat(String),
    #[error("invalid reference format: invalid digest in {0:?}")]
    InvalidDigest(String),
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// domain := host [':' port], host := domain-name | '[' IPv6 ']'
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, tail)) => {
                if v6.is_empty()
                    || !v6
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                {
                    return false;
                }
                match tail {
                    "" => return true,
                    t => match t.strip_prefix(':') {
                        Some(p) => ("x", Some(p)),
                        None => return false,
                    },
                }
            }
            None => return false,
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        })
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
}

/// What docker takes for an image ID, never a name: 64 lowercase hex
/// digits.
fn is_hex_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Whether a name's first component is read as a registry host.
fn names_a_host(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first
}

/// Docker's splitDockerDomain: the first component is a registry host only
/// if it looks like one (has `.` or `:`, is `localhost`, or has uppercase).
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut rest) = match name.split_once('/') {
        Some((first, rest)) if names_a_host(first) => (first.to_string(), rest.to_string()),
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !rest.contains('/') {
        rest = format!("{OFFICIAL_REPO_PREFIX}{rest}");
    }
    (domain, rest)
}

impl Reference {
    /// Parse like `docker pull`/`docker tag` do; no default tag is added.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if is_hex_id(s) {
            return Err(ReferenceError::HexName(s.to_string()));
        }
        if s.is_empty() {
            return Err(ReferenceError::NameEmpty);
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                let digest = d
                    .parse::<Digest>()
                    .map_err(|_| ReferenceError::InvalidDigest(s.to_string()))?;
                (n, Some(digest))
            }
            None => (s, None),
        };
        let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => {
                let i = last_slash + i;
                (&name_tag[..i], Some(name_tag[i + 1..].to_string()))
            }
            None => (name_tag, None),
        };
        if let Some(t) = &tag {
            if !valid_tag(t) {
                return Err(ReferenceError::InvalidFormat(s.to_string()));
            }
        }
        if name.is_empty() {
            return Err(ReferenceError::NameEmpty);
        }
        let (domain, path) = split_domain(name);
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(path));
        }
        if !valid_domain(&domain) || !path.split('/').all(valid_path_component) {
            return Err(ReferenceError::InvalidFormat(s.to_string()));
        }
        if domain.len() + 1 + path.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// Parse and add `:latest` when neither tag nor digest is given, as
    /// `docker pull`, `docker run` and image lookups do.
    pub fn parse_tagged(s: &str) -> Result<Reference, ReferenceError> {
        Ok(Reference::parse(s)?.with_default_tag())
    }

    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// Repository path inside the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Full repository name: `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// What docker prints in REPOSITORY columns: `busybox`, `me/app`,
    /// `localhost:5000/app`.
    ///
    /// A Docker Hub path whose first component looks like a host
    /// (`docker.io/a.b/c`) keeps its `docker.io/`: docker's
    /// `FamiliarString` drops it and prints a name that parses as another
    /// registry's, or not at all (`docer9_ogr.io/alpine`: found by the
    /// fuzzer); wharf prints one that names the same repository.
    pub fn familiar_repository(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.repository();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => match self.path.split_once('/') {
                Some((first, _)) if names_a_host(first) => self.repository(),
                _ => self.path.clone(),
            },
        }
    }

    /// Familiar repository plus tag/digest: `busybox:latest`. A bare
    /// Docker Hub name that is 64 hex digits keeps its domain, as parsing
    /// it alone would take it for an image ID (found by the fuzzer).
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_repository();
        if self.tag.is_none() && self.digest.is_none() && is_hex_id(&s) {
            s = self.repository();
        }
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(s)
    }
}

/// The fully qualified form: `docker.io/library/busybox:latest`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse_tagged(s).unwrap().to_string()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("me/bb:1.0"), "docker.io/me/bb:1.0");
        assert_eq!(
            full("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("localhost/x"), "localhost/x:latest");
        assert_eq!(full("host:5000/a/b:tag"), "host:5000/a/b:tag");
        assert_eq!(
            full("127.0.0.1:5000/lib/node:18"),
            "127.0.0.1:5000/lib/node:18"
        );
        assert_eq!(full("[::1]:5000/x"), "[::1]:5000/x:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            full(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
        assert_eq!(
            full(&format!("busybox:1@{d}")),
            format!("docker.io/library/busybox:1@{d}")
        );
        assert_eq!(
            full("a__b-c---d/f_g.h"),
            "docker.io/a__b-c---d/f_g.h:latest"
        );
    }

    #[test]
    fn familiar_forms() {
        let r = Reference::parse_tagged("docker.io/library/busybox").unwrap();
        assert_eq!(r.familiar(), "busybox:latest");
        assert_eq!(r.familiar_repository(), "busybox");
        let r = Reference::parse_tagged("docker.io/library/a/b").unwrap();
        assert_eq!(r.familiar_repository(), "library/a/b");
        let r = Reference::parse_tagged("localhost:5000/app:1").unwrap();
        assert_eq!(r.familiar(), "localhost:5000/app:1");
        // A Hub path that would read as a host keeps its domain.
        let r = Reference::parse("docker.io/docer9_ogr.io/alpine:3.17").unwrap();
        assert_eq!(r.familiar(), "docker.io/docer9_ogr.io/alpine:3.17");
        assert_eq!(Reference::parse(&r.familiar()).unwrap(), r);
        let hex = "56ee4626931fc004f70149baeb9ba70149baeb9baeba2c8ec672bd4f27761f8e";
        let r = Reference::parse(&format!("docker.io/{hex}")).unwrap();
        assert_eq!(r.familiar(), format!("docker.io/library/{hex}"));
        assert_eq!(Reference::parse(&r.familiar()).unwrap(), r);
        let r = Reference::parse(&format!("docker.io/{hex}:1")).unwrap();
        assert_eq!(r.familiar(), format!("{hex}:1"));
        let r = Reference::parse("docker.io/localhost/x").unwrap();
        assert_eq!(r.familiar_repository(), "docker.io/localhost/x");
    }

    #[test]
    fn rejects_bad_references() {
        assert!(matches!(
            Reference::parse("Busybox"),
            Err(ReferenceError::Uppercase(_))
        ));
        assert!(matches!(
            Reference::parse(&"a".repeat(64)),
            Err(ReferenceError::HexName(_))
        ));
        assert!(matches!(
            Reference::parse(""),
            Err(ReferenceError::NameEmpty)
        ));
        for bad in [
            "a:",
            "a:-x",
            "-a",
            "a//b",
            "a..b",
            "a/b/",
            ":tag",
            "a@sha256:abc",
            "a b",
            "a_",
            "a:t@x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(matches!(
            Reference::parse(&"a".repeat(300)),
            Err(ReferenceError::NameTooLong)
        ));
        // An uppercase first component is a registry host in docker's rules.
        assert_eq!(full("Host/x"), "Host/x:latest");
    }
}

//! Manifests as registries serve them: Docker schema 2 and OCI image
//! manifests, manifest lists and OCI indexes, and picking this machine's
//! platform from a list.

use serde::{Deserialize, Serialize};
use wharf_oci::media_types as mt;
use wharf_oci::Digest;

use crate::{RegistryError, RegistryResult};

/// What wharf asks registries for, in docker's order of preference.
pub const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

impl Platform {
    /// This machine's platform.
    pub fn host() -> Platform {
        Platform {
            os: wharf_oci::platform::OS.to_string(),
            architecture: wharf_oci::platform::go_arch().to_string(),
            variant: String::new(),
        }
    }

    /// `os[/arch[/variant]]`, as `--platform` takes it.
    pub fn parse(s: &str) -> RegistryResult<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || {
            RegistryError::Invalid(format!(
                "invalid platform {s:?}: expected os[/arch[/variant]]"
            ))
        };
        if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
            return Err(bad());
        }
        let host = Platform::host();
        Ok(Platform {
            os: parts[0].to_ascii_lowercase(),
            architecture: parts
                .get(1)
                .map(|a| normalize_arch(&a.to_ascii_lowercase()))
                .unwrap_or(host.architecture),
            variant: parts
                .get(2)
                .map(|v| v.to_ascii_lowercase())
                .unwrap_or_default(),
        })
    }

    fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == normalize_arch(&other.architecture)
            && (self.variant.is_empty() || self.variant == other.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

fn normalize_arch(a: &str) -> String {
    match a {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        other => other.into(),
    }
}

/// Any manifest-like document: the fields of all four kinds.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: u32,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

#[derive(Debug, Clone)]
pub enum Manifest {
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        manifests: Vec<Descriptor>,
    },
}

impl Manifest {
    /// Parse by the served content type, falling back to the document's own
    /// `mediaType` and shape (some registries serve `application/json`).
    pub fn parse(content_type: &str, body: &[u8]) -> RegistryResult<(Manifest, String)> {
        let raw: Raw = serde_json::from_slice(body)
            .map_err(|e| RegistryError::Protocol(format!("invalid manifest: {e}")))?;
        if raw.schema_version == 1 {
            return Err(RegistryError::Protocol(
                "unsupported manifest: Docker schema 1 (deprecated; push the image again with a current client)".into(),
            ));
        }
        let ct = content_type.split(';').next().unwrap_or("").trim();
        let media_type = match ct {
            mt::DOCKER_MANIFEST | mt::DOCKER_MANIFEST_LIST | mt::OCI_MANIFEST | mt::OCI_INDEX => {
                ct.to_string()
            }
            _ => raw.media_type.clone().unwrap_or_else(|| {
                if raw.manifests.is_some() {
                    mt::OCI_INDEX.into()
                } else {
                    mt::OCI_MANIFEST.into()
                }
            }),
        };
        let manifest = match media_type.as_str() {
            mt::DOCKER_MANIFEST_LIST | mt::OCI_INDEX => Manifest::Index {
                manifests: raw.manifests.unwrap_or_default(),
            },
            mt::DOCKER_MANIFEST | mt::OCI_MANIFEST => Manifest::Image {
                config: raw
                    .config
                    .ok_or_else(|| RegistryError::Protocol("invalid manifest: no config".into()))?,
                layers: raw.layers.unwrap_or_default(),
            },
            other => {
                return Err(RegistryError::Protocol(format!(
                    "unsupported manifest media type {other}"
                )))
            }
        };
        Ok((manifest, media_type))
    }
}

/// The entry of an index for `want`, as docker picks it.
pub fn select_platform<'a>(manifests: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let images = manifests.iter().filter(|d| {
        matches!(
            d.media_type.as_str(),
            mt::DOCKER_MANIFEST | mt::OCI_MANIFEST
        )
    });
    let candidates: Vec<&Descriptor> = images
        .filter(|d| d.platform.as_ref().is_some_and(|p| want.matches(p)))
        .collect();
    // Without a wanted variant, prefer the entry without one (or the first).
    candidates
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.variant == want.variant)
        })
        .or(candidates.first())
        .copied()
}

/// A Docker schema 2 manifest, as docker 20.10 pushes.
pub fn docker_manifest(config: &Descriptor, layers: &[Descriptor]) -> Vec<u8> {
    let v = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": mt::DOCKER_MANIFEST,
        "config": config,
        "layers": layers,
    });
    serde_json::to_vec_pretty(&v).expect("manifests serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(arch: &str, variant: &str) -> Descriptor {
        Descriptor {
            media_type: mt::OCI_MANIFEST.into(),
            digest: Digest::of(format!("{arch}{variant}").as_bytes()),
            size: 1,
            platform: Some(Platform {
                os: "linux".into(),
                architecture: arch.into(),
                variant: variant.into(),
            }),
            urls: vec![],
        }
    }

    #[test]
    fn picks_the_platform() {
        let list = vec![d("arm", "v7"), d("arm64", "v8"), d("amd64", "")];
        let amd = Platform::parse("linux/amd64").unwrap();
        assert_eq!(select_platform(&list, &amd), Some(&list[2]));
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(select_platform(&list, &arm), Some(&list[1]));
        let armv6 = Platform::parse("linux/arm/v6").unwrap();
        assert_eq!(select_platform(&list, &armv6), None);
        assert!(Platform::parse("linux//x").is_err());
    }

    #[test]
    fn parses_by_content_type_or_shape() {
        let body = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#;
        let (m, t) = Manifest::parse("application/json", body).unwrap();
        assert!(matches!(m, Manifest::Image { .. }));
        assert_eq!(t, mt::OCI_MANIFEST);
        assert!(Manifest::parse("x", br#"{"schemaVersion":1}"#).is_err());
    }
}

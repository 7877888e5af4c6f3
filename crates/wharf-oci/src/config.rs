//! The image config JSON in Docker's shape.
//!
//! Image IDs are the sha256 of the config bytes, so wharf never re-serializes
//! a config it did not create: these types are for reading configs and for
//! writing new ones (import, commit, build). Unknown top-level fields are
//! kept in `extra` so `inspect` can still show them.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::Digest;

/// `config`/`container_config` of an image: docker's `container.Config`.
/// Serialized with docker's field order and omitempty rules, so `inspect`
/// output and configs wharf writes look like docker's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, EmptyObject>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub env: Vec<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub args_escaped: bool,
    pub image: String,
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    pub working_dir: String,
    #[serde(deserialize_with = "string_or_list")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub network_disabled: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// Go's `struct{}` as a JSON value (`{}`), used by port and volume sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyObject {}

/// HEALTHCHECK settings; durations in nanoseconds as docker stores them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub diff_ids: Vec<Digest>,
}

impl RootFs {
    pub fn layers(diff_ids: Vec<Digest>) -> RootFs {
        RootFs {
            kind: "layers".into(),
            diff_ids,
        }
    }
}

/// One `history` entry. `empty_layer` entries have no diff ID in `rootfs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// The whole image config (docker's `image.Image`), field order as docker
/// writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parent: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ContainerConfig>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub docker_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub os: String,
    pub rootfs: Option<RootFs>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub history: Vec<History>,
    #[serde(rename = "os.version", skip_serializing_if = "String::is_empty")]
    pub os_version: String,
    /// Fields wharf does not model (e.g. BuildKit's build info), kept for inspect.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ImageConfig {
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<ImageConfig> {
        serde_json::from_slice(bytes)
    }

    /// Diff IDs of the layers, bottom first.
    pub fn diff_ids(&self) -> &[Digest] {
        self.rootfs
            .as_ref()
            .map(|r| r.diff_ids.as_slice())
            .unwrap_or(&[])
    }

    /// Compact JSON, as docker writes configs (the bytes that get hashed).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("image config serializes")
    }

    /// `created` as a timestamp, if present and valid.
    pub fn created_time(&self) -> Option<DateTime<Utc>> {
        self.created.as_deref().and_then(parse_time)
    }
}

/// Go's RFC3339Nano: nanoseconds with trailing zeros trimmed, `Z` for UTC.
pub fn format_time(t: DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    match s.split_once('.') {
        Some((secs, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{secs}Z")
            } else {
                format!("{secs}.{digits}Z")
            }
        }
        None => s,
    }
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker accepts `"Cmd": "sh"` (a string) as well as a list.
fn string_or_list<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_config_has_docker_shape() {
        let c = ContainerConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        let v = serde_json::to_string(&c).unwrap();
        assert_eq!(
            v,
            r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":[],"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}"#
        );
    }

    #[test]
    fn reads_buildkit_config_and_keeps_unknown_fields() {
        let raw = br#"{"architecture":"amd64","config":{"Env":["A=1"],"Cmd":"sh","WorkingDir":"/app","ArgsEscaped":true},"created":"2024-01-02T03:04:05.5Z","history":[{"created_by":"RUN x","empty_layer":true}],"moby.buildkit.buildinfo.v1":"e30=","os":"linux","rootfs":{"type":"layers","diff_ids":null}}"#;
        let c = ImageConfig::from_slice(raw).unwrap();
        let cfg = c.config.as_ref().unwrap();
        assert_eq!(cfg.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(cfg.working_dir, "/app");
        assert!(c.history[0].empty_layer);
        assert!(c.diff_ids().is_empty());
        assert!(c.extra.contains_key("moby.buildkit.buildinfo.v1"));
        assert!(c.created_time().is_some());
    }

    #[test]
    fn go_time_format_trims_zeros() {
        let t = parse_time("2024-01-02T03:04:05.500Z").unwrap();
        assert_eq!(format_time(t), "2024-01-02T03:04:05.5Z");
        let t = parse_time("2024-01-02T03:04:05Z").unwrap();
        assert_eq!(format_time(t), "2024-01-02T03:04:05Z");
    }
}

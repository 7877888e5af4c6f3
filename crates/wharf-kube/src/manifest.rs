//! Manifest files: YAML documents to typed [`Object`]s (with the object
//! and field path named in every error) and back to YAML.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wharf_compose::output::{to_out, to_yaml};

use crate::error::{KubeError, KubeResult};
use crate::objects::{ConfigMap, Deployment, Object, PersistentVolumeClaim, Pod, Secret, Service};

/// Every document of `text` (`file` names it in YAML errors); empty
/// documents are skipped, as kubectl and podman skip them.
pub fn parse(text: &str, file: &str) -> KubeResult<Vec<Object>> {
    let docs = wharf_compose::yaml::parse_documents(text, file).map_err(KubeError::Yaml)?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.value.is_null() {
            continue;
        }
        out.push(object(doc.value, i + 1)?);
    }
    Ok(out)
}

/// One document: its `kind` and `apiVersion` checked, then decoded.
fn object(v: Value, index: usize) -> KubeResult<Object> {
    let Value::Object(m) = &v else {
        return Err(KubeError::invalid(
            format!("document {index}"),
            "not a Kubernetes object (a mapping with apiVersion and kind)",
        ));
    };
    let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (kind, api) = (text("kind"), text("apiVersion"));
    let name = m
        .get("metadata")
        .and_then(|md| md.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let label = if name.is_empty() {
        format!("document {index}")
    } else if kind.is_empty() {
        format!("{name:?}")
    } else {
        format!("{kind} {name:?}")
    };
    if kind.is_empty() {
        return Err(KubeError::invalid(label, "missing kind"));
    }
    let expected = match kind.as_str() {
        "Pod" | "Service" | "PersistentVolumeClaim" | "ConfigMap" | "Secret" => "v1",
        "Deployment" => "apps/v1",
        other => {
            return Err(KubeError::invalid(
                label,
                format!(
                    "unsupported kind {other:?} (wharf plays Pod, Deployment, Service, PersistentVolumeClaim, ConfigMap and Secret)"
                ),
            ))
        }
    };
    if api != expected {
        return Err(KubeError::invalid(
            label,
            format!("apiVersion {api:?} is not {expected:?}"),
        ));
    }
    if name.is_empty() {
        return Err(KubeError::invalid(label, "metadata.name is required"));
    }
    Ok(match kind.as_str() {
        "Pod" => Object::Pod(decode::<Pod>(v, &label)?),
        "Deployment" => Object::Deployment(decode::<Deployment>(v, &label)?),
        "Service" => Object::Service(decode::<Service>(v, &label)?),
        "PersistentVolumeClaim" => {
            Object::PersistentVolumeClaim(decode::<PersistentVolumeClaim>(v, &label)?)
        }
        "ConfigMap" => Object::ConfigMap(decode::<ConfigMap>(v, &label)?),
        _ => Object::Secret(decode::<Secret>(v, &label)?),
    })
}

/// Decodes with the path of the first bad field in the error
/// (`spec.template.spec.containers[0].imagePullPolicyy: unknown field`).
fn decode<T: DeserializeOwned>(v: Value, label: &str) -> KubeResult<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde lists every expected field after an unknown one: the
        // path already says where, the list would drown it.
        let cause = match inner.split_once(", expected one of") {
            Some((head, _)) => head.replace('`', "\""),
            None => inner.replace('`', "\""),
        };
        let cause = if path.is_empty() || path == "." {
            cause
        } else {
            format!("{path}: {cause}")
        };
        KubeError::invalid(label, cause)
    })
}

/// The documents as one YAML stream (`---` between documents).
pub fn render(objects: &[Object]) -> String {
    let docs: Vec<String> = objects
        .iter()
        .map(|o| match o {
            Object::Pod(x) => yaml(x),
            Object::Deployment(x) => yaml(x),
            Object::Service(x) => yaml(x),
            Object::PersistentVolumeClaim(x) => yaml(x),
            Object::ConfigMap(x) => yaml(x),
            Object::Secret(x) => yaml(x),
        })
        .collect();
    docs.join("---\n")
}

fn yaml<T: Serialize>(v: &T) -> String {
    to_yaml(&to_out(v, true))
}

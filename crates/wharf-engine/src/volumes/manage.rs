//! `volume create`, `ls`, `inspect`, `rm`, `prune`.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{json, Value};
use wharf_store::volumes::{self, VolumeRecord};

use crate::containers::names::{new_id, valid_name};
use crate::{Engine, EngineError, EngineResult};

/// `volume create` arguments.
#[derive(Debug, Clone, Default)]
pub struct VolumeCreate {
    /// `None`: a random 64-hex name.
    pub name: Option<String>,
    /// `-d`; `None` = `local`.
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `-o key=value`.
    pub options: BTreeMap<String, String>,
}

/// One row of `volume ls`.
#[derive(Debug, Clone)]
pub struct VolumeSummary {
    pub record: VolumeRecord,
    pub mountpoint: String,
    /// How many containers (running or not) use it.
    pub containers: u64,
}

/// What `volume prune` removed.
#[derive(Debug, Clone, Default)]
pub struct VolumePruneReport {
    pub deleted: Vec<String>,
    pub reclaimed: u64,
}

/// docker's local driver's rule for names, with its messages.
pub(crate) fn check_name(name: &str) -> EngineResult<()> {
    if name.len() < 2 && name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(EngineError::Invalid(format!(
            "create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )));
    }
    if !valid_name(name) {
        return Err(EngineError::Invalid(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    Ok(())
}

fn check_driver(name: &str, driver: &str) -> EngineResult<()> {
    if driver != "local" {
        return Err(EngineError::NotFound(format!(
            "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
        )));
    }
    Ok(())
}

/// docker's local driver's options: `type`, `device` and `o` (mounted
/// when a container starts), each needing the others it goes with.
pub(crate) fn check_options(name: &str, options: &BTreeMap<String, String>) -> EngineResult<()> {
    let invalid = |msg: String| Err(EngineError::Invalid(format!("create {name}: {msg}")));
    for k in options.keys() {
        match k.as_str() {
            "type" | "device" | "o" => {}
            "size" => return invalid("quota size requested but no quota support".into()),
            _ => return invalid(format!("invalid option: {k:?}")),
        }
    }
    let has = |k: &str| options.contains_key(k);
    if (has("type") || has("o")) && !has("device") {
        return invalid("missing required option: \"device\"".into());
    }
    if has("device") && !has("type") {
        return invalid("missing required option: \"type\"".into());
    }
    Ok(())
}

/// The mount a container's monitor makes for a volume with options.
pub(crate) fn volume_mount(
    engine: &Engine,
    v: &VolumeRecord,
) -> Option<wharf_runtime::volume_mount::VolumeMount> {
    let get = |k: &str| v.options.get(k).cloned().unwrap_or_default();
    (!v.options.is_empty()).then(|| wharf_runtime::volume_mount::VolumeMount {
        data: engine.store.volume_data(&v.name),
        fstype: get("type"),
        device: get("device"),
        options: get("o"),
    })
}

/// Bytes in a tree: regular files and symlinks, hard links once (docker's
/// `directory.Size`).
pub(crate) fn tree_size(path: &Path) -> u64 {
    fn walk(p: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        let Ok(entries) = std::fs::read_dir(p) else {
            return 0;
        };
        let mut total = 0;
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                total += walk(&e.path(), seen);
            } else if m.nlink() < 2 || seen.insert((m.dev(), m.ino())) {
                total += m.size();
            }
        }
        total
    }
    walk(path, &mut HashSet::new())
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Engine {
    /// A volume record for `name` (made now, not yet stored).
    pub(crate) fn new_volume_record(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> VolumeRecord {
        VolumeRecord {
            name: name.map(str::to_string).unwrap_or_else(new_id),
            driver: "local".into(),
            created: now(),
            labels,
            options,
            anonymous: name.is_none(),
        }
    }

    /// Make the volume's directory (tolerating one that is there: a
    /// volume whose row a killed process never wrote keeps its data).
    pub(crate) fn make_volume_dir(&self, name: &str) -> EngineResult<()> {
        let data = self.store.volume_data(name);
        std::fs::create_dir_all(&data)
            .map_err(|e| EngineError::io(format!("create {name}: creating {}", data.display()), e))
    }

    /// `docker volume create`: idempotent for an existing name, as docker.
    pub fn create_volume(&self, req: &VolumeCreate) -> EngineResult<String> {
        let driver = req.driver.as_deref().unwrap_or("local");
        let name = req.name.clone();
        let shown = name.clone().unwrap_or_default();
        if let Some(n) = &name {
            check_name(n)?;
            if self.store.read(|tx| volumes::get(tx, n))?.is_some() {
                return Ok(n.clone());
            }
        }
        check_driver(&shown, driver)?;
        check_options(&shown, &req.options)?;
        let record = VolumeRecord {
            anonymous: false,
            ..self.new_volume_record(
                Some(name.as_deref().unwrap_or(&new_id())),
                req.labels.clone(),
                req.options.clone(),
            )
        };
        self.make_volume_dir(&record.name)?;
        wharf_failpoint::hit("volume-create-before-tx");
        self.store.write(|tx| volumes::insert(tx, &record))?;
        Ok(record.name)
    }

    fn volume(&self, name: &str) -> EngineResult<VolumeRecord> {
        self.store
            .read(|tx| volumes::get(tx, name))?
            .ok_or_else(|| EngineError::NotFound(format!("get {name}: no such volume")))
    }

    /// `docker volume ls`, by name.
    pub fn list_volumes(&self) -> EngineResult<Vec<VolumeSummary>> {
        let (records, counts) = self
            .store
            .read(|tx| Ok((volumes::list(tx)?, volumes::use_counts(tx)?)))?;
        Ok(records
            .into_iter()
            .map(|r| VolumeSummary {
                mountpoint: self.store.volume_data(&r.name).display().to_string(),
                containers: counts.get(&r.name).copied().unwrap_or(0),
                record: r,
            })
            .collect())
    }

    /// `docker volume inspect`: docker's JSON.
    pub fn inspect_volume(&self, name: &str) -> EngineResult<Value> {
        let v = self.volume(name)?;
        let map_or_null = |m: &BTreeMap<String, String>| {
            if m.is_empty() {
                Value::Null
            } else {
                json!(m)
            }
        };
        Ok(json!({
            "CreatedAt": v.created,
            "Driver": v.driver,
            "Labels": map_or_null(&v.labels),
            "Mountpoint": self.store.volume_data(&v.name),
            "Name": v.name,
            "Options": map_or_null(&v.options),
            "Scope": "local",
        }))
    }

    /// `docker volume rm [-f]`: an unused volume and its data. With
    /// `force`, a missing volume is not an error; one in use still is.
    pub fn remove_volume(&self, name: &str, force: bool) -> EngineResult<()> {
        match self.store.write(|tx| volumes::delete(tx, name)) {
            Ok(()) => {
                wharf_failpoint::hit("volume-rm-after-tx");
                self.store.discard_volume(name);
                Ok(())
            }
            Err(wharf_store::StoreError::NotFound(_)) if force => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `docker volume prune` as docker 20.10 does it: every volume no
    /// container uses, except those made with driver options (docker
    /// leaves those alone), filtered by `keep(record)`.
    pub fn prune_volumes(
        &self,
        keep: impl Fn(&VolumeRecord) -> bool,
    ) -> EngineResult<VolumePruneReport> {
        let mut report = VolumePruneReport::default();
        for v in self.list_volumes()? {
            if v.containers > 0 || !v.record.options.is_empty() || keep(&v.record) {
                continue;
            }
            let size = tree_size(&self.store.volume_data(&v.record.name));
            match self.store.write(|tx| volumes::delete(tx, &v.record.name)) {
                Ok(()) => {
                    self.store.discard_volume(&v.record.name);
                    report.reclaimed += size;
                    report.deleted.push(v.record.name);
                }
                // Taken into use (or removed) since the listing.
                Err(
                    wharf_store::StoreError::Conflict(_) | wharf_store::StoreError::NotFound(_),
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.record_prune(wharf_model::EventType::Volume, report.reclaimed)?;
        Ok(report)
    }

    /// Size of a volume's data.
    pub fn volume_size(&self, name: &str) -> u64 {
        tree_size(&self.store.volume_data(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_local_driver() {
        assert!(check_name("data").is_ok());
        assert!(check_name("a.b-c_d").is_ok());
        assert_eq!(
            check_name("a").unwrap_err().to_string(),
            "create a: volume name is too short, names should be at least two alphanumeric characters"
        );
        assert!(check_name("a/b").unwrap_err().to_string().starts_with(
            "create a/b: \"a/b\" includes invalid characters for a local volume name"
        ));
        assert!(check_name("-x").is_err());
    }

    #[test]
    fn options_follow_the_local_driver() {
        let opts = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let err = |kv: &[(&str, &str)]| check_options("v", &opts(kv)).unwrap_err().to_string();
        assert!(check_options("v", &opts(&[])).is_ok());
        assert!(check_options(
            "v",
            &opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")])
        )
        .is_ok());
        assert_eq!(
            err(&[("type", "tmpfs")]),
            "create v: missing required option: \"device\""
        );
        assert_eq!(
            err(&[("o", "size=1m")]),
            "create v: missing required option: \"device\""
        );
        assert_eq!(
            err(&[("device", "tmpfs")]),
            "create v: missing required option: \"type\""
        );
        assert_eq!(err(&[("foo", "1")]), "create v: invalid option: \"foo\"");
        assert_eq!(
            err(&[("size", "1m")]),
            "create v: quota size requested but no quota support"
        );
    }

    #[test]
    fn sizes_count_hard_links_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), b"12345").unwrap();
        std::fs::hard_link(d.path().join("a"), d.path().join("b")).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/c"), b"123").unwrap();
        assert_eq!(tree_size(d.path()), 8);
    }
}

//! The one-time upgrade of containers made by a wharf from before the
//! typed record: part of what they were made from lived in files beside
//! them (`monitor.json`: layers, run options, restart policy, mounts;
//! `network.json`: the network mode). Those are folded into the record
//! and deleted. Runs when a store is opened, only while the store's list
//! of rows to upgrade is not empty (one cheap query otherwise).

use serde_json::Value;
use wharf_model::{Definition, NetMode, RestartPolicy, SpecMount, Ulimit, VolumeMount};
use wharf_runtime::monitor::ContainerDir;
use wharf_store::containers;

use crate::{Engine, EngineResult};

fn field<T: serde::de::DeserializeOwned>(v: &Value, key: &str) -> Option<T> {
    v.get(key)
        .and_then(|x| serde_json::from_value(x.clone()).ok())
}

/// The old `RestartPolicy` enum as serde wrote it: `"Always"`, `{"OnFailure": 3}`.
fn old_restart(v: &Value) -> RestartPolicy {
    match v {
        Value::String(s) if s == "Always" => RestartPolicy::Always,
        Value::String(s) if s == "UnlessStopped" => RestartPolicy::UnlessStopped,
        Value::Object(o) => o
            .get("OnFailure")
            .and_then(Value::as_u64)
            .map(|n| RestartPolicy::OnFailure(n as u32))
            .unwrap_or_default(),
        _ => RestartPolicy::No,
    }
}

/// Fold the old files' contents into `d`.
fn fold(
    d: &mut Definition,
    monitor: &Value,
    network: Option<&Value>,
    layers: Vec<wharf_oci::Digest>,
) {
    let opts = &monitor["options"];
    let h = &mut d.host_config;
    let r = &mut h.resources;
    h.auto_remove = monitor["auto_remove"].as_bool().unwrap_or(false);
    h.restart_policy = old_restart(&monitor["restart"]);
    h.privileged = opts["privileged"].as_bool().unwrap_or(false);
    h.readonly_rootfs = opts["read_only"].as_bool().unwrap_or(false);
    h.cap_add = field(opts, "cap_add").filter(|v: &Vec<String>| !v.is_empty());
    h.cap_drop = field(opts, "cap_drop").filter(|v: &Vec<String>| !v.is_empty());
    h.security_opt = field(opts, "security_opts").filter(|v: &Vec<String>| !v.is_empty());
    h.group_add = field(opts, "group_add").filter(|v: &Vec<String>| !v.is_empty());
    h.init = opts["init"].as_bool().filter(|i| *i);
    h.shm_size = opts["shm_size"].as_i64().unwrap_or(0);
    r.memory = opts["memory"].as_i64().unwrap_or(0);
    r.memory_swap = opts["memory_swap"].as_i64().unwrap_or(0);
    r.nano_cpus = opts["cpus"].as_f64().map(|c| (c * 1e9) as i64).unwrap_or(0);
    r.cpu_shares = opts["cpu_shares"].as_i64().unwrap_or(0);
    r.pids_limit = opts["pids_limit"].as_i64();
    r.ulimits = Some(
        field::<Vec<String>>(opts, "ulimits")
            .unwrap_or_default()
            .iter()
            .filter_map(|u| wharf_runtime::spec::parse_ulimit(u).ok())
            .map(|u| Ulimit {
                name: u.resource.name().to_string(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect(),
    );
    let c = &mut d.config;
    c.tty = opts["tty"].as_bool().unwrap_or(c.tty);
    c.open_stdin = opts["interactive"].as_bool().unwrap_or(c.open_stdin);
    if let Some(h) = opts["hostname"].as_str() {
        c.hostname = h.to_string();
    }
    if let Some(dn) = opts["domainname"].as_str() {
        c.domainname = dn.to_string();
    }
    d.resolved.layers = layers;
    d.resolved.mounts = field::<Vec<SpecMount>>(opts, "mounts").unwrap_or_default();
    d.resolved.volume_mounts =
        field::<Vec<VolumeMount>>(monitor, "volume_mounts").unwrap_or_default();
    d.resolved.net_mode = network
        .and_then(|n| field::<NetMode>(n, "mode"))
        .unwrap_or(NetMode::None);
}

impl Engine {
    /// Upgrade the records of containers made by an older wharf.
    pub(crate) fn upgrade_legacy_containers(&self) -> EngineResult<()> {
        let pending = self.store.read(|tx| containers::pending_upgrades(tx))?;
        for id in pending {
            let dir = ContainerDir::new(self.store.root(), &id);
            let rec = self.store.read(|tx| containers::get(tx, &id))?;
            let Some(mut rec) = rec else {
                self.store.write(|tx| containers::upgraded(tx, &id))?;
                continue;
            };
            let read = |p: std::path::PathBuf| -> Option<Value> {
                serde_json::from_slice(&std::fs::read(p).ok()?).ok()
            };
            let monitor = read(dir.legacy_monitor_config()).unwrap_or(Value::Null);
            let network = read(dir.path.join("network.json"));
            let layers = self
                .store
                .read(|tx| wharf_store::images::get(tx, &rec.image_id))?
                .map(|i| i.layers.into_iter().rev().collect())
                .unwrap_or_default();
            fold(&mut rec.definition, &monitor, network.as_ref(), layers);
            self.store.write(|tx| {
                containers::set_definition(tx, &id, &rec.definition)?;
                containers::upgraded(tx, &id)
            })?;
            let _ = std::fs::remove_file(dir.legacy_monitor_config());
            let _ = std::fs::remove_file(dir.path.join("network.json"));
            tracing::info!(%id, "upgraded the container's record");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_files_fold_into_the_record() {
        let monitor: Value = serde_json::from_str(
            r#"{"auto_remove":false,"restart":{"OnFailure":3},"options":{"memory":1048576,"cpus":0.5,
               "ulimits":["nofile=10:20"],"tty":true,"privileged":false,"cap_add":["NET_ADMIN"],
               "mounts":[{"destination":"/d","kind":{"Tmpfs":{"options":["size=1m"]}}}]},
               "volume_mounts":[]}"#,
        )
        .unwrap();
        let network: Value = serde_json::from_str(r#"{"mode":"Bridge"}"#).unwrap();
        let mut d = Definition::default();
        fold(&mut d, &monitor, Some(&network), Vec::new());
        assert_eq!(d.host_config.restart_policy, RestartPolicy::OnFailure(3));
        assert_eq!(d.host_config.resources.memory, 1 << 20);
        assert_eq!(d.host_config.resources.nano_cpus, 500_000_000);
        assert_eq!(d.host_config.cap_add, Some(vec!["NET_ADMIN".to_string()]));
        assert_eq!(
            d.host_config.resources.ulimits.as_ref().unwrap()[0],
            Ulimit {
                name: "nofile".into(),
                soft: 10,
                hard: 20
            }
        );
        assert!(d.config.tty);
        assert_eq!(d.resolved.net_mode, NetMode::Bridge);
        assert_eq!(d.resolved.mounts[0].destination, "/d");
    }
}

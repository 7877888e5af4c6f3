//! The project's networks and volumes: found by name and checked against
//! their labels, made with Compose's labels and config hash when missing
//! (`ensureNetwork`, `ensureVolume`), removed by `down`.

use std::collections::BTreeMap;

use wharf_engine::networks::{NetworkCreateRequest, NetworkSummary};
use wharf_engine::volumes::VolumeCreate;
use wharf_oci::ErrorKind;

use super::error::invalid;
use super::hash::{network_hash, volume_hash};
use super::labels;
use super::progress::{Progress, Status};
use super::{RunResult, Runtime};
use crate::model::{Network, Volume};

/// Logrus' warning line, as Compose prints warnings.
pub(crate) fn warn(text: &str) {
    logrus("warning", text);
}

/// An informational line, as Compose's logrus prints one.
pub(crate) fn info(text: &str) {
    logrus("info", text);
}

fn logrus(level: &str, text: &str) {
    let now = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    eprintln!("time={now:?} level={level} msg={text:?}");
}

impl Runtime<'_> {
    fn network_named(&self, name: &str) -> RunResult<Option<NetworkSummary>> {
        Ok(self
            .engine
            .list_networks()?
            .into_iter()
            .find(|n| n.record.name == name || n.record.id == name))
    }

    fn volume_exists(&self, name: &str) -> RunResult<Option<BTreeMap<String, String>>> {
        Ok(self
            .engine
            .list_volumes()?
            .into_iter()
            .find(|v| v.record.name == name)
            .map(|v| v.record.labels))
    }

    /// Refuse to start when an `external` network or volume is missing,
    /// before anything is made (nothing half-created).
    pub(crate) fn check_external(&self) -> RunResult<()> {
        for n in self.project.networks.values().filter(|n| n.external) {
            if self.network_named(&n.name)?.is_none() {
                return Err(invalid(format!(
                    "network {} declared as external, but could not be found",
                    n.name
                )));
            }
        }
        for v in self.project.volumes.values().filter(|v| v.external) {
            if self.volume_exists(&v.name)?.is_none() {
                return Err(invalid(format!("external volume {:?} not found", v.name)));
            }
        }
        Ok(())
    }

    /// Every network of the project, made if missing.
    pub(crate) fn ensure_networks(&self, progress: &dyn Progress) -> RunResult<()> {
        for (key, n) in &self.project.networks {
            if n.external {
                continue;
            }
            self.ensure_network(key, n, progress)?;
        }
        Ok(())
    }

    fn ensure_network(&self, key: &str, n: &Network, progress: &dyn Progress) -> RunResult<()> {
        let expected = network_hash(n);
        if let Some(found) = self.network_named(&n.name)? {
            match found.labels.get(labels::PROJECT) {
                None => warn(&format!(
                    "a network with name {} exists but was not created by compose.\nSet `external: true` to use an existing network",
                    n.name
                )),
                Some(p) if p != self.name() => warn(&format!(
                    "a network with name {} exists but was not created for project {:?}.\nSet `external: true` to use an existing network",
                    n.name,
                    self.name()
                )),
                Some(_) => {}
            }
            if found.labels.contains_key(labels::PROJECT) {
                let actual = found
                    .labels
                    .get(labels::NETWORK)
                    .cloned()
                    .unwrap_or_default();
                if actual != key {
                    return Err(invalid(format!(
                        "network {} was found but has incorrect label {} set to {actual:?} (expected: {key:?})",
                        n.name,
                        labels::NETWORK
                    )));
                }
            }
            match found.labels.get(labels::CONFIG_HASH) {
                Some(h) if *h != expected => {
                    return self.recreate_network(key, n, &found, &expected, progress)
                }
                _ => return Ok(()),
            }
        }
        self.create_network(key, n, &expected, progress).map(|_| ())
    }

    fn create_network(
        &self,
        key: &str,
        n: &Network,
        hash: &str,
        progress: &dyn Progress,
    ) -> RunResult<String> {
        let mut l = n.labels.0.clone();
        l.insert(labels::NETWORK.into(), key.to_string());
        l.insert(labels::PROJECT.into(), self.name().to_string());
        l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        l.insert(labels::CONFIG_HASH.into(), hash.to_string());
        let pool = n.ipam.config.first();
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let req = NetworkCreateRequest {
            name: n.name.clone(),
            driver: n.driver.clone(),
            subnet: pool.and_then(|p| nonempty(&p.subnet)),
            gateway: pool.and_then(|p| nonempty(&p.gateway)),
            ip_range: pool.and_then(|p| nonempty(&p.ip_range)),
            internal: n.internal,
            labels: l,
            options: n.driver_opts.0.clone(),
            ..Default::default()
        };
        let id = format!("Network {}", n.name);
        progress.event(&id, Status::Working, "Creating");
        match self.engine.create_network(&req) {
            Ok(net) => {
                progress.event(&id, Status::Done, "Created");
                Ok(net)
            }
            Err(e) => {
                progress.event(&id, Status::Error, "Error");
                Err(invalid(format!("failed to create network {}: {e}", n.name)))
            }
        }
    }

    /// A network whose configuration changed: its containers are stopped
    /// and taken off it, it is made anew, and they are put back (Compose's
    /// `removeDivergedNetwork`); recreating them is the converger's job.
    fn recreate_network(
        &self,
        key: &str,
        n: &Network,
        found: &NetworkSummary,
        hash: &str,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let services: Vec<&str> = self
            .project
            .services
            .iter()
            .filter(|(_, s)| s.networks.contains_key(key))
            .map(|(name, _)| name.as_str())
            .collect();
        let attached: Vec<_> = self
            .containers(super::OneOff::Exclude)?
            .into_iter()
            .filter(|c| services.contains(&c.service()))
            .collect();
        for c in &attached {
            self.stop_one(c, None, None, progress)?;
            self.engine
                .disconnect_network(&found.record.id, c.id(), true)?;
        }
        self.engine.remove_network(&found.record.id)?;
        progress.event(&format!("Network {}", n.name), Status::Done, "Removed");
        self.create_network(key, n, hash, progress)?;
        for c in &attached {
            self.engine.connect_network(&n.name, c.id(), &[], None)?;
        }
        Ok(())
    }

    /// Every volume of the project, made if missing.
    pub(crate) fn ensure_volumes(&self, progress: &dyn Progress) -> RunResult<()> {
        for (key, v) in &self.project.volumes {
            if v.external {
                continue;
            }
            self.ensure_volume(key, v, progress)?;
        }
        Ok(())
    }

    fn ensure_volume(&self, key: &str, v: &Volume, progress: &dyn Progress) -> RunResult<()> {
        if let Some(found) = self.volume_exists(&v.name)? {
            match found.get(labels::PROJECT) {
                None => warn(&format!(
                    "volume {:?} already exists but was not created by Docker Compose. Use `external: true` to use an existing volume",
                    v.name
                )),
                Some(p) if p != self.name() => warn(&format!(
                    "volume {:?} already exists but was created for project {p:?} (expected {:?}). Use `external: true` to use an existing volume",
                    v.name,
                    self.name()
                )),
                // A changed configuration: Compose asks before recreating
                // (losing the data) and, unattended, keeps it; so do we.
                Some(_) => {}
            }
            return Ok(());
        }
        let mut l = v.labels.0.clone();
        l.insert(labels::VOLUME.into(), key.to_string());
        l.insert(labels::PROJECT.into(), self.name().to_string());
        l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
        l.insert(labels::CONFIG_HASH.into(), volume_hash(v));
        let id = format!("Volume {}", v.name);
        progress.event(&id, Status::Working, "Creating");
        let made = self.engine.create_volume(&VolumeCreate {
            name: Some(v.name.clone()),
            driver: (!v.driver.is_empty()).then(|| v.driver.clone()),
            labels: l,
            options: v.driver_opts.0.clone(),
        });
        match made {
            Ok(_) => {
                progress.event(&id, Status::Done, "Created");
                Ok(())
            }
            Err(e) => {
                progress.event(&id, Status::Error, "Error");
                Err(e.into())
            }
        }
    }

    /// `down`: the project's networks that no container uses any more.
    pub(crate) fn remove_networks(&self, progress: &dyn Progress) -> RunResult<()> {
        let all = self.engine.list_networks()?;
        for (key, n) in &self.project.networks {
            if n.external {
                continue;
            }
            let ours: Vec<&NetworkSummary> = all
                .iter()
                .filter(|x| {
                    x.labels.get(labels::PROJECT).map(String::as_str) == Some(self.name())
                        && x.labels.get(labels::NETWORK) == Some(key)
                        && x.record.name == n.name
                })
                .collect();
            if ours.is_empty() {
                continue;
            }
            let id = format!("Network {}", n.name);
            progress.event(&id, Status::Working, "Removing");
            for net in ours {
                if net.containers > 0 {
                    progress.event(&id, Status::Warning, "Resource is still in use");
                    continue;
                }
                match self.engine.remove_network(&net.record.id) {
                    Ok(()) => progress.event(&id, Status::Done, "Removed"),
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => {
                        progress.event(&id, Status::Error, "Error");
                        return Err(invalid(format!("failed to remove network {}: {e}", n.name)));
                    }
                }
            }
        }
        Ok(())
    }

    /// `down -v`: the project's own volumes.
    pub(crate) fn remove_volumes(&self, progress: &dyn Progress) -> RunResult<()> {
        for v in self.project.volumes.values().filter(|v| !v.external) {
            if self.volume_exists(&v.name)?.is_none() {
                continue;
            }
            let id = format!("Volume {}", v.name);
            progress.event(&id, Status::Working, "Removing");
            match self.engine.remove_volume(&v.name, true) {
                Ok(()) => progress.event(&id, Status::Done, "Removed"),
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    progress.event(&id, Status::Warning, "Resource is still in use")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Networks and volumes the project's labels name, for a project
    /// known only by name (`down -p NAME` without its file).
    pub(crate) fn adopt_resources(&mut self) -> RunResult<()> {
        let name = self.name().to_string();
        for n in self.engine.list_networks()? {
            if n.labels.get(labels::PROJECT) != Some(&name) {
                continue;
            }
            if let Some(key) = n.labels.get(labels::NETWORK) {
                self.project.networks.insert(
                    key.clone(),
                    Network {
                        name: n.record.name.clone(),
                        ..Default::default()
                    },
                );
            }
        }
        for v in self.engine.list_volumes()? {
            if v.record.labels.get(labels::PROJECT) != Some(&name) {
                continue;
            }
            if let Some(key) = v.record.labels.get(labels::VOLUME) {
                self.project.volumes.insert(
                    key.clone(),
                    Volume {
                        name: v.record.name.clone(),
                        ..Default::default()
                    },
                );
            }
        }
        Ok(())
    }
}

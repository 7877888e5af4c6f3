//! Network verbs: `network create/ls/inspect/rm/prune/connect/disconnect`.
//!
//! The networking itself (subnets, bridges, rules, DNS) is wharf-network's;
//! this module finds containers, keeps docker's messages and shapes.

mod connect;
mod inspect;

use std::collections::BTreeMap;

use wharf_network::CreateNetwork;
use wharf_store::networks::{self, NetworkRecord};

use crate::containers::new_id;
use crate::{Engine, EngineError, EngineResult};

/// `docker network create` flags.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreateRequest {
    pub name: String,
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// `--aux-address name=ip`: addresses the IPAM never hands out.
    pub aux_addresses: BTreeMap<String, String>,
    /// `--ipv6`, and the IPv6 `--subnet`/`--gateway` (the CLI sorts
    /// the flags given twice by family).
    pub ipv6: bool,
    pub subnet6: Option<String>,
    pub gateway6: Option<String>,
    /// `--attachable`: accepted (any container may join a local network);
    /// shown by inspect.
    pub attachable: bool,
}

/// Option key under which a network keeps `--attachable`; never shown.
pub(crate) const ATTACHABLE: &str = "wharf.attachable";

/// A network as `network ls` shows it.
#[derive(Debug, Clone)]
pub struct NetworkSummary {
    pub record: NetworkRecord,
    pub labels: BTreeMap<String, String>,
    /// Containers attached (running or not).
    pub containers: usize,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

impl Engine {
    pub fn create_network(&self, req: &NetworkCreateRequest) -> EngineResult<String> {
        if !valid_name(&req.name) {
            return Err(EngineError::Invalid(format!(
                "invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                req.name
            )));
        }
        let net = self.networking()?;
        let rec = net.create(&CreateNetwork {
            id: new_id(),
            name: req.name.clone(),
            driver: if req.driver.is_empty() {
                "bridge".into()
            } else {
                req.driver.clone()
            },
            subnet: req.subnet.clone(),
            gateway: req.gateway.clone(),
            ip_range: req.ip_range.clone(),
            internal: req.internal,
            labels: req.labels.clone(),
            options: {
                let mut o = req.options.clone();
                if req.attachable {
                    o.insert(ATTACHABLE.into(), "true".into());
                }
                o
            },
            aux_addresses: req.aux_addresses.clone(),
            ipv6: req.ipv6,
            subnet6: req.subnet6.clone(),
            gateway6: req.gateway6.clone(),
        })?;
        Ok(rec.id)
    }

    pub fn list_networks(&self) -> EngineResult<Vec<NetworkSummary>> {
        let net = self.networking()?;
        let mut out = Vec::new();
        for record in net.list()? {
            let containers = self
                .store
                .read(|tx| networks::endpoints_on(tx, &record.id))?
                .len();
            out.push(NetworkSummary {
                labels: serde_json::from_str(&record.labels).unwrap_or_default(),
                record,
                containers,
            });
        }
        Ok(out)
    }

    /// `docker network rm`; returns the name as given.
    pub fn remove_network(&self, name: &str) -> EngineResult<()> {
        self.networking()?.remove(name)?;
        Ok(())
    }

    /// `docker network prune`: user-defined networks no container uses;
    /// their names, in docker's order.
    pub fn prune_networks(&self) -> EngineResult<Vec<String>> {
        let mut removed = Vec::new();
        for n in self.list_networks()? {
            let predefined = ["bridge", "host", "none"].contains(&n.record.name.as_str());
            if predefined || n.containers > 0 {
                continue;
            }
            if self.networking()?.remove(&n.record.id).is_ok() {
                removed.push(n.record.name);
            }
        }
        self.record_prune(wharf_model::EventType::Network, 0)?;
        Ok(removed)
    }
}

//! `network connect` / `disconnect` of a running container: one endpoint
//! brought up or down without touching the others.

use std::path::{Path, PathBuf};

use wharf_store::networks::{self, EndpointRecord};

use crate::attach::ContainerFiles;
use crate::manage::Networking;
use crate::netlink::Netlink;
use crate::{NetResult, NetworkError};

impl Networking<'_> {
    /// `docker network connect` of a running container: the new endpoint
    /// (already recorded) is brought up at once.
    pub fn connect_running(&self, id: &str, network_id: &str, netns: &Path) -> NetResult<()> {
        let _lock = self.lock()?;
        let ep = self
            .store
            .read(|tx| networks::endpoints_of(tx, id))?
            .into_iter()
            .find(|e| e.network_id == network_id)
            .ok_or_else(|| {
                NetworkError::NotFound(format!("container {id} is not on network {network_id}"))
            })?;
        let files = ContainerFiles {
            netns: netns.to_path_buf(),
            hosts: PathBuf::new(),
            resolv_conf: PathBuf::new(),
        };
        let nl = Netlink::new()?;
        let result = self
            .attach_endpoint(&nl, &ep, &files, false)
            .and_then(|_| self.apply_rules());
        if result.is_err() {
            let _ = self.detach_locked(&nl, &ep);
        }
        result
    }

    /// `docker network disconnect` of a running container: its veth on
    /// the network goes (the caller then drops the endpoint).
    pub fn disconnect_running(&self, id: &str, network_id: &str) -> NetResult<()> {
        let _lock = self.lock()?;
        let Some(ep) = self
            .store
            .read(|tx| networks::endpoints_of(tx, id))?
            .into_iter()
            .find(|e| e.network_id == network_id)
        else {
            return Ok(());
        };
        let nl = Netlink::new()?;
        self.detach_locked(&nl, &ep)?;
        self.apply_rules()
    }

    fn detach_locked(&self, nl: &Netlink, ep: &EndpointRecord) -> NetResult<()> {
        nl.delete_link(&self.names.veth(&ep.container_id, ep.seq as usize))?;
        self.store.write(|tx| {
            networks::set_endpoint_address(tx, &ep.container_id, &ep.network_id, None, None)
        })?;
        let active = self.store.read(|tx| networks::active_endpoints(tx))?;
        if !active.iter().any(|a| a.network_id == ep.network_id) {
            if let Some(net) = self.store.read(|tx| networks::get(tx, &ep.network_id))? {
                self.bring_down(&net);
            }
        }
        Ok(())
    }
}

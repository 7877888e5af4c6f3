//! `docker network connect` / `disconnect`.

use wharf_runtime::monitor::ContainerDir;
use wharf_store::networks::{self, EndpointRecord};

use crate::{Engine, EngineError, EngineResult};

impl Engine {
    /// Attach a container to a network; a running one gets its interface now.
    pub fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
        ip: Option<&str>,
    ) -> EngineResult<()> {
        self.connect_network_ips(network, container, aliases, ip, None)
    }

    /// [`Engine::connect_network`] with an `--ip6` too.
    pub fn connect_network_ips(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
        ip: Option<&str>,
        ip6: Option<&str>,
    ) -> EngineResult<()> {
        let net = self.networking()?;
        let n = net.find(network)?;
        let c = self.refresh(self.find_container(container)?)?;
        if n.driver != "bridge" {
            return Err(EngineError::Invalid(
                "container cannot be disconnected from host network or connected to host network"
                    .into(),
            ));
        }
        if c.definition.resolved.net_mode != wharf_model::NetMode::Bridge {
            return Err(EngineError::Invalid("container sharing network namespace with another container or host cannot be connected to any other network".into()));
        }
        if n.name == "bridge" && (!aliases.is_empty() || ip.is_some()) {
            return Err(EngineError::Invalid(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
        if let Some(ip6) = ip6 {
            crate::containers::network::check_ip6(&n, ip6)?;
        }
        let ep = EndpointRecord {
            container_id: c.id.clone(),
            network_id: n.id.clone(),
            aliases: aliases.to_vec(),
            ip_requested: ip.map(str::to_string),
            ip6_requested: ip6.map(str::to_string),
            ..Default::default()
        };
        self.store.write(|tx| {
            if networks::endpoints_of(tx, &c.id)?
                .iter()
                .any(|e| e.network_id == n.id)
            {
                return Err(wharf_store::StoreError::Conflict(format!(
                    "endpoint with name {} already exists in network {}",
                    c.name, n.name
                )));
            }
            networks::add_endpoint(tx, &ep)
        })?;
        if c.state.status.is_running() {
            let dir = ContainerDir::new(self.store.root(), &c.id);
            if let Err(e) = net.connect_running(&c.id, &n.id, &dir.netns()) {
                self.store
                    .write(|tx| networks::remove_endpoint(tx, &c.id, &n.id))?;
                return Err(e.into());
            }
            self.hosts_for_endpoint(&c, &n.id, true);
            // docker reports the connection of a running container.
            self.store
                .write(|tx| networks::endpoint_events(tx, &c.id, Some(&n.id), "connect"))?;
        }
        Ok(())
    }

    /// A running container's /etc/hosts after `connect` (`added`: the
    /// endpoint's addresses are added) or before `disconnect` (they go).
    /// A hosts file that cannot be rewritten is only worth a warning: the
    /// network itself is attached.
    fn hosts_for_endpoint(&self, c: &wharf_model::ContainerRecord, network_id: &str, added: bool) {
        let ep = self
            .store
            .read(|tx| networks::endpoints_of(tx, &c.id))
            .ok()
            .and_then(|eps| eps.into_iter().find(|e| e.network_id == network_id));
        let Some(ep) = ep else { return };
        let ips: Vec<std::net::IpAddr> = [ep.ip.as_deref(), ep.ip6.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|ip| ip.parse().ok())
            .collect();
        let cfg = self.network_config(c);
        let path = ContainerDir::new(self.store.root(), &c.id).hosts();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return;
        };
        let lines: Vec<String> = ips
            .iter()
            .map(|ip| wharf_network::files::hosts_entry(*ip, &cfg.hostname, &cfg.domainname))
            .collect();
        let new = match added {
            true => wharf_network::files::update_hosts(&text, &lines, &[]),
            false => wharf_network::files::update_hosts(&text, &[], &ips),
        };
        // In place: the file is bind-mounted into the container.
        if let Err(e) = std::fs::write(&path, new) {
            tracing::warn!(container = %c.id, error = %e, "updating the container's /etc/hosts");
        }
    }

    /// Detach a container from a network.
    pub fn disconnect_network(
        &self,
        network: &str,
        container: &str,
        force: bool,
    ) -> EngineResult<()> {
        let net = self.networking()?;
        let n = net.find(network)?;
        let c = match self.find_container(container) {
            Ok(c) => self.refresh(c)?,
            Err(e) if !force => return Err(e),
            Err(_) => return Ok(()),
        };
        let attached = self
            .store
            .read(|tx| networks::endpoints_of(tx, &c.id))?
            .iter()
            .any(|e| e.network_id == n.id);
        if !attached {
            return Err(EngineError::Invalid(format!(
                "container {} is not connected to network {}",
                c.id, n.name
            )));
        }
        let running = c.state.status.is_running();
        if running {
            self.hosts_for_endpoint(&c, &n.id, false);
            net.disconnect_running(&c.id, &n.id)?;
        }
        self.store.write(|tx| {
            if running {
                networks::endpoint_events(tx, &c.id, Some(&n.id), "disconnect")?;
            }
            networks::remove_endpoint(tx, &c.id, &n.id)
        })?;
        Ok(())
    }
}

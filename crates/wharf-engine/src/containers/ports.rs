//! A container's ports and addresses as `ps`, `port` and `inspect` show
//! them (docker's `types.Port` and `NetworkSettings`).

use wharf_model::{
    ContainerRecord, EndpointIpamConfig, EndpointSettings, NetworkSettings, PortBinding, PortSet,
};
use wharf_store::networks;

use crate::{Engine, EngineResult};

/// docker's `types.Port`: an exposed port, published when `public` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortView {
    /// The host address (`0.0.0.0` for all) when published.
    pub ip: Option<String>,
    pub private: u16,
    pub public: Option<u16>,
    /// `tcp` or `udp`.
    pub proto: String,
}

impl Engine {
    /// Published ports while it runs, plus exposed ones that are not.
    pub fn container_ports(&self, rec: &ContainerRecord) -> EngineResult<Vec<PortView>> {
        let id = rec.id.as_str();
        let running = rec.state.status.is_running();
        let published = if running {
            self.store.read(|tx| networks::ports(tx, Some(id)))?
        } else {
            Vec::new()
        };
        let mut out: Vec<PortView> = published
            .iter()
            .map(|p| PortView {
                ip: Some(p.host_ip.clone()),
                private: p.container_port,
                public: Some(p.host_port),
                proto: p.proto.clone(),
            })
            .collect();
        if running {
            for (port, proto) in self.network_config(rec).exposed {
                if !out.iter().any(|p| p.private == port && p.proto == proto) {
                    out.push(PortView {
                        ip: None,
                        private: port,
                        public: None,
                        proto,
                    });
                }
            }
        }
        Ok(out)
    }

    /// docker's `NetworkSettings` for `inspect`.
    pub(crate) fn network_settings(&self, rec: &ContainerRecord) -> EngineResult<NetworkSettings> {
        let id = rec.id.as_str();
        let running = rec.state.status.is_running();
        let mut ports = PortSet::new();
        for (port, proto) in &self.network_config(rec).exposed {
            ports.insert(format!("{port}/{proto}"), None);
        }
        for p in self.container_ports(rec)? {
            let (Some(ip), Some(public)) = (p.ip, p.public) else {
                continue;
            };
            ports
                .entry(format!("{}/{}", p.private, p.proto))
                .or_default()
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: ip,
                    host_port: public.to_string(),
                });
        }
        let endpoints = self.store.read(|tx| networks::endpoints_of(tx, id))?;
        let mut out = NetworkSettings {
            ports,
            ..Default::default()
        };
        for ep in endpoints {
            let Some(net) = self.store.read(|tx| networks::get(tx, &ep.network_id))? else {
                continue;
            };
            let entry = endpoint_settings(rec, &ep, &net);
            let default_bridge = net.name == "bridge";
            if default_bridge {
                out.gateway = entry.gateway.clone();
                out.ip_address = entry.ip_address.clone();
                out.ip_prefix_len = entry.ip_prefix_len;
                out.mac_address = entry.mac_address.clone();
                out.global_ipv6_address = entry.global_ipv6_address.clone();
                out.global_ipv6_prefix_len = entry.global_ipv6_prefix_len;
                out.ipv6_gateway = entry.ipv6_gateway.clone();
            }
            out.networks.insert(net.name.clone(), entry);
        }
        if running {
            out.sandbox_id = id.to_string();
            let dir = wharf_runtime::monitor::ContainerDir::new(self.store.root(), id);
            out.sandbox_key = dir.netns().display().to_string();
        }
        Ok(out)
    }
}

/// docker's `EndpointSettings` of container `rec` on network `net` (its
/// endpoint `ep`), as `inspect` and `ps` (the API's list) show it.
pub(crate) fn endpoint_settings(
    rec: &ContainerRecord,
    ep: &networks::EndpointRecord,
    net: &networks::NetworkRecord,
) -> EndpointSettings {
    let id = rec.id.as_str();
    let prefix: u8 = net
        .subnet
        .as_deref()
        .and_then(|s| s.split_once('/'))
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0);
    let up = ep.ip.is_some();
    let default_bridge = net.name == "bridge";
    let mut aliases = ep.aliases.clone();
    if !default_bridge {
        aliases.push(id[..12].to_string());
        // Docker also names a container by a hostname of its own
        // on user-defined networks.
        let hostname = &rec.definition.config.hostname;
        if !hostname.is_empty() && hostname != &id[..12] {
            aliases.push(hostname.clone());
        }
    }
    // The first endpoint is what create was asked for (`--ip`,
    // `--ip6`, `--link-local-ip`); docker drops it on the default
    // bridge.
    let requested = (ep.seq == 0 && !default_bridge)
        .then(|| super::network::requested_endpoint(&rec.definition))
        .flatten()
        .and_then(|e| e.ipam_config.clone());
    let mut entry = EndpointSettings {
        ipam_config: requested.or_else(|| {
            ep.ip_requested.as_ref().map(|ip| EndpointIpamConfig {
                ipv4_address: ip.clone(),
                ..Default::default()
            })
        }),
        // A user-defined network's links are its endpoint's.
        links: rec
            .definition
            .networking_config
            .endpoints_config
            .get(&net.name)
            .and_then(|e| e.links.clone())
            .filter(|_| !default_bridge),
        aliases: (!default_bridge).then_some(aliases),
        network_id: net.id.clone(),
        endpoint_id: if up {
            format!("{}{}", &id[..32], &net.id[..32])
        } else {
            String::new()
        },
        gateway: if up {
            wharf_network::attach::gateway_of(net)
                .map(|g| g.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        },
        ip_address: ep.ip.clone().unwrap_or_default(),
        ip_prefix_len: if up { prefix } else { 0 },
        mac_address: ep.mac.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let (Some(ip6), true) = (&ep.ip6, up) {
        if let Some((s6, gw6)) = wharf_network::attach::ipv6_of(net) {
            entry.global_ipv6_address = ip6.clone();
            entry.global_ipv6_prefix_len = s6.prefix;
            entry.ipv6_gateway = gw6.to_string();
        }
    }
    entry
}

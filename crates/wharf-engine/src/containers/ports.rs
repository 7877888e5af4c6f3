//! A container's ports and addresses as `ps`, `port` and `inspect` show
//! them (docker's `types.Port` and `NetworkSettings`).

use serde_json::{json, Map, Value};
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
    pub fn container_ports(&self, id: &str, running: bool) -> EngineResult<Vec<PortView>> {
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
            for (port, proto) in self.network_config(id).exposed {
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
    pub(crate) fn network_settings(&self, id: &str, running: bool) -> EngineResult<Value> {
        let cfg = self.network_config(id);
        let mut ports = Map::new();
        for (port, proto) in &cfg.exposed {
            ports.insert(format!("{port}/{proto}"), Value::Null);
        }
        for p in self.container_ports(id, running)? {
            let (Some(ip), Some(public)) = (p.ip, p.public) else {
                continue;
            };
            let key = format!("{}/{}", p.private, p.proto);
            let entry = json!({"HostIp": ip, "HostPort": public.to_string()});
            match ports.get_mut(&key).and_then(Value::as_array_mut) {
                Some(list) => list.push(entry),
                None => {
                    ports.insert(key, json!([entry]));
                }
            }
        }
        let endpoints = self.store.read(|tx| networks::endpoints_of(tx, id))?;
        let mut nets = Map::new();
        let mut top = json!({"Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""});
        for ep in endpoints {
            let Some(net) = self.store.read(|tx| networks::get(tx, &ep.network_id))? else {
                continue;
            };
            let prefix: u8 = net
                .subnet
                .as_deref()
                .and_then(|s| s.split_once('/'))
                .and_then(|(_, p)| p.parse().ok())
                .unwrap_or(0);
            let up = ep.ip.is_some();
            let mut aliases = ep.aliases.clone();
            if net.name != "bridge" {
                aliases.push(id[..12].to_string());
            }
            let entry = json!({
                "IPAMConfig": ep.ip_requested.as_ref().map(|ip| json!({"IPv4Address": ip})),
                "Links": null,
                "Aliases": if net.name == "bridge" { Value::Null } else { json!(aliases) },
                "NetworkID": net.id,
                "EndpointID": if up { format!("{}{}", &id[..32], &net.id[..32]) } else { String::new() },
                "Gateway": if up { net.gateway.clone().unwrap_or_default() } else { String::new() },
                "IPAddress": ep.ip.clone().unwrap_or_default(),
                "IPPrefixLen": if up { prefix } else { 0 },
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "MacAddress": ep.mac.clone().unwrap_or_default(),
                "DriverOpts": null,
            });
            if net.name == "bridge" {
                for k in ["Gateway", "IPAddress", "IPPrefixLen", "MacAddress"] {
                    top[k] = entry[k].clone();
                }
            }
            nets.insert(net.name.clone(), entry);
        }
        let sandbox = if running {
            super::network::container_files(&wharf_runtime::monitor::ContainerDir::new(
                self.store.root(),
                id,
            ))
            .netns
            .display()
            .to_string()
        } else {
            String::new()
        };
        Ok(json!({
            "Bridge": "",
            "SandboxID": if running { id.to_string() } else { String::new() },
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": ports,
            "SandboxKey": sandbox,
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": "",
            "Gateway": top["Gateway"],
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": top["IPAddress"],
            "IPPrefixLen": top["IPPrefixLen"],
            "IPv6Gateway": "",
            "MacAddress": top["MacAddress"],
            "Networks": nets,
        }))
    }
}

//! `docker network inspect`: the network as docker's API returns it.

use serde_json::{json, Map, Value};
use wharf_store::networks;

use crate::{Engine, EngineResult};

impl Engine {
    pub fn inspect_network(&self, name: &str) -> EngineResult<Value> {
        let n = self.networking()?.find(name)?;
        let mut containers = Map::new();
        for ep in self.store.read(|tx| networks::endpoints_on(tx, &n.id))? {
            let Some(ip) = ep.ip.clone() else { continue };
            let cname = self
                .store
                .read(|tx| wharf_store::containers::get(tx, &ep.container_id))?
                .map(|c| c.name)
                .unwrap_or_default();
            let prefix = n
                .subnet
                .as_deref()
                .and_then(|s| s.split_once('/'))
                .map(|x| x.1)
                .unwrap_or("");
            containers.insert(
                ep.container_id.clone(),
                json!({
                    "Name": cname,
                    "EndpointID": format!("{}{}", &ep.container_id[..32], &n.id[..32]),
                    "MacAddress": ep.mac.unwrap_or_default(),
                    "IPv4Address": format!("{ip}/{prefix}"),
                    "IPv6Address": match (&ep.ip6, n.subnet6.as_deref().and_then(|s| s.split_once('/'))) {
                        (Some(ip6), Some((_, p6))) => format!("{ip6}/{p6}"),
                        _ => String::new(),
                    },
                }),
            );
        }
        let config: Value = match (&n.subnet, &n.gateway) {
            (Some(subnet), gateway) => {
                let mut c = json!({"Subnet": subnet});
                if let Some(g) = gateway {
                    c["Gateway"] = json!(g);
                }
                if let Some(r) = &n.ip_range {
                    c["IPRange"] = json!(r);
                }
                let aux = wharf_network::attach::aux_addresses(&n);
                if !aux.is_empty() {
                    c["AuxiliaryAddresses"] = json!(aux);
                }
                let mut all = vec![c];
                // The IPv6 subnet, shown (as docker does) even without --ipv6.
                if let Some(s6) = &n.subnet6 {
                    let mut c6 = json!({"Subnet": s6});
                    if let Some(g6) = &n.gateway6 {
                        c6["Gateway"] = json!(g6);
                    }
                    all.push(c6);
                }
                json!(all)
            }
            _ => json!([]),
        };
        let mut options: Map<String, Value> = serde_json::from_str(&n.options).unwrap_or_default();
        let attachable = options.contains_key(super::ATTACHABLE);
        // wharf's own bookkeeping, not an option the user gave.
        options.retain(|k, _| !k.starts_with("wharf."));
        if let Some(b) = &n.bridge {
            options
                .entry("com.docker.network.bridge.name")
                .or_insert(json!(b));
        }
        let labels: Value = serde_json::from_str(&n.labels).unwrap_or_else(|_| json!({}));
        Ok(json!({
            "Name": n.name,
            "Id": n.id,
            "Created": n.created,
            "Scope": "local",
            "Driver": n.driver,
            "EnableIPv6": n.ipv6,
            "IPAM": {"Driver": "default", "Options": null, "Config": config},
            "Internal": n.internal,
            "Attachable": attachable,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": containers,
            "Options": options,
            "Labels": labels,
        }))
    }
}

//! What a network's DNS server answers, read from the store per query:
//! the running containers on the network by name, alias, compose service
//! and short ID.

use std::net::{IpAddr, Ipv4Addr};

use wharf_store::networks;
use wharf_store::{containers, Store, StoreResult};

/// Names (lowercase, no trailing dot) a container answers to on a network.
fn names_of(c: &wharf_model::ContainerRecord, aliases: &[String]) -> Vec<String> {
    let mut out = vec![c.name.to_lowercase(), c.short_id().to_string()];
    out.extend(aliases.iter().map(|a| a.to_lowercase()));
    // Its own hostname, an alias on user-defined networks as in docker.
    let hostname = &c.config().hostname;
    if !hostname.is_empty() {
        out.push(hostname.to_lowercase());
    }
    let labels = c.config().labels.as_ref();
    if let Some(service) = labels.and_then(|l| l.get("com.docker.compose.service")) {
        out.push(service.to_lowercase());
    }
    out
}

/// The addresses `name` has on network `network_id`, IPv4 and (on a
/// dual-stack network) IPv6 (several for a compose service with replicas). A name not on it is looked up on the
/// asking container's other user-defined networks, as docker's resolver
/// does for a container on several networks.
pub fn lookup(
    store: &Store,
    network_id: &str,
    name: &str,
    asker: Option<Ipv4Addr>,
) -> StoreResult<Vec<IpAddr>> {
    let name = name.trim_end_matches('.').to_lowercase();
    let found = on_network(store, network_id, &name)?;
    let Some(asker) = asker.filter(|_| found.is_empty()) else {
        return Ok(found);
    };
    let asker = asker.to_string();
    let (linked, others) = store.read(|tx| {
        let Some(me) = networks::endpoints_on(tx, network_id)?
            .into_iter()
            .find(|e| e.ip.as_deref() == Some(asker.as_str()))
        else {
            return Ok((None, Vec::new()));
        };
        let linked = containers::get(tx, &me.container_id)?.and_then(|c| link_target(&c, &name));
        let mut out = Vec::new();
        for ep in networks::endpoints_of(tx, &me.container_id)? {
            let user = networks::get(tx, &ep.network_id)?.is_some_and(|n| n.name != "bridge");
            if ep.network_id != network_id && user {
                out.push(ep.network_id);
            }
        }
        Ok((linked, out))
    })?;
    // The asker's links are names only it resolves (docker's links on a
    // user-defined network: `--link db:database`, Compose's `links`).
    if let Some(target) = linked {
        let ips = on_network(store, network_id, &target)?;
        if !ips.is_empty() {
            return Ok(ips);
        }
    }
    for other in others {
        let ips = on_network(store, &other, &name)?;
        if !ips.is_empty() {
            return Ok(ips);
        }
    }
    Ok(Vec::new())
}

/// The container `c` links to under `alias`: its `HostConfig.Links`
/// (recorded `/name:/container/alias`) and its endpoints' links
/// (`name:alias`).
fn link_target(c: &wharf_model::ContainerRecord, alias: &str) -> Option<String> {
    let endpoint_links = c
        .definition
        .networking_config
        .endpoints_config
        .values()
        .flat_map(|e| e.links.iter().flatten());
    wharf_model::list(&c.host_config().links)
        .iter()
        .chain(endpoint_links)
        .find_map(|l| {
            let (name, path) = l.split_once(':').unwrap_or((l, l));
            let linked_as = path.rsplit('/').next().unwrap_or(path);
            (linked_as.to_lowercase() == alias).then(|| name.trim_start_matches('/').to_lowercase())
        })
}

fn on_network(store: &Store, network_id: &str, name: &str) -> StoreResult<Vec<IpAddr>> {
    let name = name.to_string();
    store.read(|tx| {
        let mut out = Vec::new();
        // SQLite narrows the endpoints to those that mention the name (its
        // lower() folds ASCII only: other names are matched the long way).
        let candidates = if name.is_ascii() {
            networks::endpoints_on_mentioning(tx, network_id, &name)?
        } else {
            networks::endpoints_on(tx, network_id)?
        };
        for ep in candidates {
            let Some(ip) = ep.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()) else {
                continue;
            };
            let Some(c) = containers::get(tx, &ep.container_id)? else {
                continue;
            };
            if names_of(&c, &ep.aliases).contains(&name) {
                out.push(ip);
                out.extend(ep.ip6.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()));
            }
        }
        Ok(out)
    })
}

/// The `--dns` servers of the container at `asker` on the network: the
/// upstreams its unanswered queries go to instead of the host's
/// (aardvark-dns's per-container servers; docker's `ExtServers`).
pub fn asker_upstreams(store: &Store, network_id: &str, asker: Ipv4Addr) -> Vec<IpAddr> {
    let asker = asker.to_string();
    store
        .read(|tx| {
            let Some(me) = networks::endpoints_on(tx, network_id)?
                .into_iter()
                .find(|e| e.ip.as_deref() == Some(asker.as_str()))
            else {
                return Ok(Vec::new());
            };
            let Some(c) = containers::get(tx, &me.container_id)? else {
                return Ok(Vec::new());
            };
            Ok(wharf_model::list(&c.host_config().dns)
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect())
        })
        .unwrap_or_default()
}

/// The container name for an address on the network (PTR).
pub fn reverse(store: &Store, network_id: &str, ip: Ipv4Addr) -> StoreResult<Option<String>> {
    let ip = ip.to_string();
    store.read(|tx| {
        for ep in networks::endpoints_on(tx, network_id)? {
            if ep.ip.as_deref() == Some(ip.as_str()) {
                return Ok(containers::get(tx, &ep.container_id)?.map(|c| c.name));
            }
        }
        Ok(None)
    })
}

/// Whether any container on the network runs (has an address).
pub fn in_use(store: &Store, network_id: &str) -> bool {
    store
        .read(|tx| networks::endpoints_on(tx, network_id))
        .is_ok_and(|eps| eps.iter().any(|e| e.ip.is_some()))
}

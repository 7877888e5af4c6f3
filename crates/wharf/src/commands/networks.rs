//! `network create/ls/inspect/rm/prune/connect/disconnect`, and the hidden
//! `network-dns` that runs a user-defined network's DNS server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use wharf_engine::networks::NetworkCreateRequest;
use wharf_engine::{Engine, EngineError};

use crate::cli::{NetworkCommand, NetworkDnsArgs, NetworkLsArgs, NetworkUnlinkArgs};
use crate::exit::{fail, fail_with};
use crate::output::{confirm, print_inspect, print_list};

fn key_values(list: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for kv in list {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => out.insert(k.to_string(), v.to_string()),
            None if !kv.is_empty() && what == "label" => out.insert(kv.clone(), String::new()),
            _ => return Err(fail(format!("invalid {what} format: {kv}"))),
        };
    }
    Ok(out)
}

/// `--subnet`/`--gateway`/`--ip-range` given for each family: the IPv4
/// one and the IPv6 one (wharf's networks have one subnet of each).
fn by_family(values: &[String], flag: &str) -> anyhow::Result<(Option<String>, Option<String>)> {
    let (mut v4, mut v6) = (None, None);
    for v in values {
        let slot = if v.contains(':') { &mut v6 } else { &mut v4 };
        if slot.replace(v.clone()).is_some() {
            let family = if v.contains(':') { "IPv6" } else { "IPv4" };
            return Err(fail(format!(
                "wharf networks take one {family} --{flag}: {v} is a second one"
            )));
        }
    }
    Ok((v4, v6))
}

/// The hidden `wharf port-proxy ADDR`: relays a published IPv6 port.
pub fn port_proxy(a: crate::cli::PortProxyArgs) -> anyhow::Result<ExitCode> {
    wharf_network::ports::serve_proxy(a.to)?;
    Ok(ExitCode::SUCCESS)
}

/// docker's `network` commands fail with exit 1 on daemon errors.
fn daemon_error(e: EngineError) -> anyhow::Error {
    fail_with(e.to_string(), 1)
}

/// docker's CLI words a missing network its own way for inspect and rm.
fn lookup_error(name: &str, e: EngineError) -> String {
    if e.kind() == wharf_engine::ErrorKind::NotFound && e.to_string().ends_with("not found") {
        format!("No such network: {name}")
    } else {
        e.to_string()
    }
}

pub fn run(engine: &Engine, c: NetworkCommand) -> anyhow::Result<ExitCode> {
    match c {
        NetworkCommand::Create(a) => {
            let (subnet, subnet6) = by_family(&a.subnet, "subnet")?;
            let (gateway, gateway6) = by_family(&a.gateway, "gateway")?;
            let (ip_range, ip_range6) = by_family(&a.ip_range, "ip-range")?;
            if let Some(r) = ip_range6 {
                return Err(fail(format!(
                    "invalid ip-range {r}: wharf allocates IPv6 addresses from the whole subnet"
                )));
            }
            let id = engine
                .create_network(&NetworkCreateRequest {
                    name: a.name,
                    driver: a.driver,
                    subnet,
                    gateway,
                    ip_range,
                    ipv6: a.ipv6,
                    attachable: a.attachable,
                    subnet6,
                    gateway6,
                    internal: a.internal,
                    labels: key_values(&a.label, "label")?,
                    options: key_values(&a.opt, "option")?,
                    // docker's map flag: `name=ip`, a bare word maps to "".
                    aux_addresses: a
                        .aux_address
                        .iter()
                        .map(|kv| match kv.split_once('=') {
                            Some((k, v)) => (k.to_string(), v.to_string()),
                            None => (kv.clone(), String::new()),
                        })
                        .collect(),
                })
                .map_err(daemon_error)?;
            println!("{id}");
        }
        NetworkCommand::Ls(a) => ls(engine, a)?,
        NetworkCommand::Inspect(a) => {
            let mut found = Vec::new();
            let mut errors = Vec::new();
            for n in &a.networks {
                match engine.inspect_network(n) {
                    Ok(v) => found.push(v),
                    Err(e) => errors.push(lookup_error(n, e)),
                }
            }
            print_inspect(&found, a.format.as_deref())?;
            if !errors.is_empty() {
                return Err(fail_with(errors.join("\n"), 1));
            }
        }
        NetworkCommand::Rm(a) => {
            let mut errors = Vec::new();
            for n in &a.networks {
                match engine.remove_network(n) {
                    Ok(()) => println!("{n}"),
                    Err(e) => errors.push(lookup_error(n, e)),
                }
            }
            if !errors.is_empty() {
                return Err(fail_with(errors.join("\n"), 1));
            }
        }
        NetworkCommand::Prune(a) => {
            if !a.force
                && !confirm("WARNING! This will remove all custom networks not used by at least one container.")
            {
                return Ok(ExitCode::SUCCESS);
            }
            let removed = engine.prune_networks()?;
            if !removed.is_empty() {
                println!("Deleted Networks:");
                for n in removed {
                    println!("{n}");
                }
                println!();
            }
        }
        NetworkCommand::Connect(a) => {
            engine
                .connect_network_ips(
                    &a.network,
                    &a.container,
                    &a.alias,
                    a.ip.as_deref(),
                    a.ip6.as_deref(),
                )
                .map_err(daemon_error)?;
        }
        NetworkCommand::Disconnect(a) => {
            engine
                .disconnect_network(&a.network, &a.container, a.force)
                .map_err(daemon_error)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

const LS_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const LS_HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

fn ls(engine: &Engine, a: NetworkLsArgs) -> anyhow::Result<()> {
    let mut filters: Vec<(String, String)> = Vec::new();
    for f in &a.filter {
        match f.split_once('=') {
            Some((k @ ("name" | "id" | "driver" | "label" | "type" | "dangling" | "scope"), v)) => {
                filters.push((k.to_string(), v.to_string()))
            }
            _ => return Err(fail(format!("Invalid filter '{f}'"))),
        }
    }
    let nets = engine.list_networks()?;
    let keep = |n: &wharf_engine::networks::NetworkSummary| {
        let predefined = ["bridge", "host", "none"].contains(&n.record.name.as_str());
        // Values of one key OR together, keys AND (docker's filter rules).
        let keys: std::collections::BTreeSet<&str> =
            filters.iter().map(|(k, _)| k.as_str()).collect();
        keys.iter().all(|key| {
            filters
                .iter()
                .filter(|(k, _)| k == key)
                .any(|(_, v)| match *key {
                    "name" => n.record.name.contains(v.as_str()),
                    "id" => n.record.id.starts_with(v.as_str()),
                    "driver" => n.record.driver == *v,
                    "scope" => v == "local",
                    "type" => (v == "builtin") == predefined,
                    "dangling" => (v == "true" || v == "1") == (n.containers == 0 && !predefined),
                    "label" => match v.split_once('=') {
                        Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
                        None => n.labels.contains_key(v.as_str()),
                    },
                    _ => false,
                })
        })
    };
    let rows: Vec<_> = nets.iter().filter(|n| keep(n)).collect();
    let id = |id: &str| {
        if a.no_trunc {
            id.to_string()
        } else {
            id[..12].to_string()
        }
    };
    if a.quiet {
        for n in rows {
            println!("{}", id(&n.record.id));
        }
        return Ok(());
    }
    let items: Vec<_> = rows
        .iter()
        .map(|n| {
            let labels = n
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            json!({
                "ID": id(&n.record.id),
                "Name": n.record.name,
                "Driver": n.record.driver,
                "Scope": "local",
                "IPv6": "false",
                "Internal": n.record.internal.to_string(),
                "Labels": labels,
                "CreatedAt": n.record.created,
            })
        })
        .collect();
    print_list(a.format.as_deref(), LS_TABLE, LS_HEADERS, &items)
}

/// The hidden `wharf network-unlink <bridge>`: a removed network's bridge
/// deleted after its remover has gone on (see `Networking::remove`).
pub fn unlink(a: NetworkUnlinkArgs) -> anyhow::Result<ExitCode> {
    wharf_network::unlink_bridge(&a.bridge).map_err(|e| fail(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

/// The hidden `wharf network-dns <id>`: serves until its network idles.
pub fn dns(root: &Path, a: NetworkDnsArgs) -> anyhow::Result<ExitCode> {
    // SAFETY: fcntl on an fd we only probe.
    let valid = unsafe { libc::fcntl(wharf_network::dns::READY_FD, libc::F_GETFD) } >= 0;
    let ready = valid.then(|| {
        use std::os::fd::FromRawFd;
        // SAFETY: the fd is open and owned by nobody else in this process.
        std::fs::File::from(unsafe {
            std::os::fd::OwnedFd::from_raw_fd(wharf_network::dns::READY_FD)
        })
    });
    if let Err(e) = wharf_network::dns::serve(root, &a.network, ready) {
        return Err(fail(e.to_string()));
    }
    Ok(ExitCode::SUCCESS)
}

//! The root's nftables table (`inet wharf`, or `inet wharf-<tag>` for
//! other roots), made from the store's state on every change: rebuilt
//! whole when something goes, added to when rules only come
//! ([`appended`]: a start commits in ~2 ms instead of 8-16), created
//! without the rebuild's deletion where there is none ([`created`]).
//!
//! Rebuilding in one atomic `nft -f` batch (add, delete, add the table)
//! needs no rule handles and repairs anything changed behind our back;
//! conntrack keeps established flows and their NAT across the swap.
//!
//! - `prerouting`/`output` (dnat): traffic to a local address (including
//!   127.0.0.1, with `route_localnet` on the bridges) and a published
//!   port goes to its container — docker's `userland-proxy=false` path.
//! - `postrouting` (srcnat): containers' outbound traffic is masqueraded;
//!   so is host-originated and hairpin traffic to published ports, so
//!   replies come back through the host.
//! - `forward`: replies and published ports pass; nothing else enters a
//!   bridge from outside it (isolation between networks, and docker's
//!   default of no unsolicited inbound traffic); `--internal` networks
//!   send nothing out.
//! - `localnet` (raw prerouting, before conntrack and NAT): a packet that
//!   arrives from outside the host (any interface but `lo`) addressed to
//!   127.0.0.0/8 is dropped. `route_localnet` would otherwise let a
//!   container with CAP_NET_RAW reach services bound to the host's
//!   127.0.0.1 by sending to the gateway's MAC (CVE-2020-8558's pattern),
//!   and a neighbour reach ports published on 127.0.0.1. Legitimate
//!   traffic never has such an address on the wire: the host's own
//!   connections to 127.0.0.1 go through `lo` and `output`, and the
//!   replies of those sent to a container arrive addressed to the
//!   gateway, de-NATed to 127.0.0.1 only after this hook.

use std::net::IpAddr;

use serde_json::{json, Value};

use crate::subnet::{Subnet, Subnet6};
use crate::{NetResult, NetworkError};

/// An active bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeRules {
    pub bridge: String,
    pub subnet: Subnet,
    /// An IPv6 network's subnet: NAT66 as Docker 27's default
    /// (`gateway_mode_ipv6=nat`), masqueraded like the IPv4 one.
    pub subnet6: Option<Subnet6>,
    pub internal: bool,
    /// `enable_ip_masquerade` (on unless turned off).
    pub masquerade: bool,
}

/// A published port of a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    pub proto: String,
    /// `None`: every local address (of `container_ip`'s family).
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    /// The family of the rule: an IPv6 port goes to the container's IPv6
    /// address.
    pub container_ip: IpAddr,
    pub container_port: u16,
}

fn table_obj(table: &str) -> Value {
    json!({"table": {"family": "inet", "name": table}})
}

/// The raw priority (`NF_IP_PRI_RAW`): before conntrack and NAT.
const PRIO_RAW: i32 = -300;

fn base_chain(table: &str, name: &str, kind: &str, hook: &str, prio: i32) -> Value {
    json!({"add": {"chain": {
        "family": "inet", "table": table, "name": name,
        "type": kind, "hook": hook, "prio": prio, "policy": "accept"
    }}})
}

fn rule(table: &str, chain: &str, expr: Vec<Value>) -> Value {
    json!({"add": {"rule": {"family": "inet", "table": table, "chain": chain, "expr": expr}}})
}

fn eq(left: Value, right: Value) -> Value {
    json!({"match": {"op": "==", "left": left, "right": right}})
}

fn ne(left: Value, right: Value) -> Value {
    json!({"match": {"op": "!=", "left": left, "right": right}})
}

fn meta(key: &str) -> Value {
    json!({"meta": {"key": key}})
}

fn flags_in(key: &str, flags: &[&str]) -> Value {
    json!({"match": {"op": "in", "left": {"ct": {"key": key}}, "right": flags}})
}

fn prefix(s: &Subnet) -> Value {
    json!({"prefix": {"addr": s.addr.to_string(), "len": s.prefix}})
}

fn prefix6(s: &Subnet6) -> Value {
    json!({"prefix": {"addr": s.addr.to_string(), "len": s.prefix}})
}

fn ip(field: &str) -> Value {
    json!({"payload": {"protocol": "ip", "field": field}})
}

fn ip6(field: &str) -> Value {
    json!({"payload": {"protocol": "ip6", "field": field}})
}

fn fib_local(which: &str) -> Value {
    eq(
        json!({"fib": {"result": "type", "flags": [which]}}),
        json!("local"),
    )
}

/// The nft JSON batch that makes `table` hold exactly these rules (or
/// removes it when there is nothing to hold).
pub fn ruleset(table: &str, bridges: &[BridgeRules], ports: &[PortRule]) -> Value {
    let mut cmds = vec![
        json!({"add": table_obj(table)}),
        json!({"delete": table_obj(table)}),
    ];
    if bridges.is_empty() {
        return json!({"nftables": cmds});
    }
    cmds.push(json!({"add": table_obj(table)}));
    cmds.push(base_chain(table, "prerouting", "nat", "prerouting", -100));
    cmds.push(base_chain(table, "output", "nat", "output", -100));
    cmds.push(base_chain(table, "postrouting", "nat", "postrouting", 100));
    cmds.push(base_chain(table, "forward", "filter", "forward", 0));
    cmds.push(base_chain(
        table,
        "localnet",
        "filter",
        "prerouting",
        PRIO_RAW,
    ));
    cmds.push(rule(
        table,
        "localnet",
        vec![
            eq(meta("nfproto"), json!("ipv4")),
            ne(meta("iifname"), json!("lo")),
            eq(
                ip("daddr"),
                json!({"prefix": {"addr": "127.0.0.0", "len": 8}}),
            ),
            json!({"drop": null}),
        ],
    ));
    cmds.push(json!({"add": {"chain": {"family": "inet", "table": table, "name": "ports"}}}));
    for chain in ["prerouting", "output"] {
        cmds.push(rule(
            table,
            chain,
            vec![fib_local("daddr"), json!({"jump": {"target": "ports"}})],
        ));
    }
    for p in ports {
        let mut expr = Vec::new();
        let family = match p.container_ip {
            IpAddr::V4(_) => {
                expr.push(eq(meta("nfproto"), json!("ipv4")));
                if let Some(h) = p.host_ip {
                    expr.push(eq(ip("daddr"), json!(h.to_string())));
                }
                "ip"
            }
            IpAddr::V6(_) => {
                expr.push(eq(meta("nfproto"), json!("ipv6")));
                // The kernel drops what is DNAT'ed from ::1: the
                // port-proxy serves loopback (see ports.rs).
                expr.push(ne(ip6("daddr"), json!("::1")));
                if let Some(h) = p.host_ip.filter(|h| !h.is_unspecified()) {
                    expr.push(eq(ip6("daddr"), json!(h.to_string())));
                }
                "ip6"
            }
        };
        expr.push(eq(
            json!({"payload": {"protocol": p.proto, "field": "dport"}}),
            json!(p.host_port),
        ));
        expr.push(json!({"dnat": {"family": family, "addr": p.container_ip.to_string(), "port": p.container_port}}));
        cmds.push(rule(table, "ports", expr));
    }
    cmds.push(rule(
        table,
        "forward",
        vec![
            flags_in("state", &["established", "related"]),
            json!({"accept": null}),
        ],
    ));
    cmds.push(rule(
        table,
        "forward",
        vec![flags_in("status", &["dnat"]), json!({"accept": null})],
    ));
    for b in bridges {
        let br = json!(b.bridge);
        // Within a bridge (seen here when br_netfilter is loaded): pass.
        cmds.push(rule(
            table,
            "forward",
            vec![
                eq(meta("iifname"), br.clone()),
                eq(meta("oifname"), br.clone()),
                json!({"accept": null}),
            ],
        ));
        if b.internal {
            cmds.push(rule(
                table,
                "forward",
                vec![eq(meta("iifname"), br.clone()), json!({"drop": null})],
            ));
        } else if b.masquerade {
            cmds.push(rule(
                table,
                "postrouting",
                vec![
                    eq(ip("saddr"), prefix(&b.subnet)),
                    ne(meta("oifname"), br.clone()),
                    json!({"masquerade": null}),
                ],
            ));
            if let Some(s6) = &b.subnet6 {
                cmds.push(rule(
                    table,
                    "postrouting",
                    vec![
                        eq(ip6("saddr"), prefix6(s6)),
                        ne(meta("oifname"), br.clone()),
                        json!({"masquerade": null}),
                    ],
                ));
            }
        }
        cmds.push(rule(
            table,
            "forward",
            vec![eq(meta("oifname"), br.clone()), json!({"drop": null})],
        ));
        // The host's own connections (127.0.0.1 included) and hairpin
        // connections to published ports: replies must come back here.
        cmds.push(rule(
            table,
            "postrouting",
            vec![
                eq(meta("oifname"), br.clone()),
                fib_local("saddr"),
                json!({"masquerade": null}),
            ],
        ));
        cmds.push(rule(
            table,
            "postrouting",
            vec![
                eq(meta("oifname"), br.clone()),
                eq(ip("saddr"), prefix(&b.subnet)),
                flags_in("status", &["dnat"]),
                json!({"masquerade": null}),
            ],
        ));
        if let Some(s6) = &b.subnet6 {
            cmds.push(rule(
                table,
                "postrouting",
                vec![
                    eq(meta("oifname"), br.clone()),
                    eq(ip6("saddr"), prefix6(s6)),
                    flags_in("status", &["dnat"]),
                    json!({"masquerade": null}),
                ],
            ));
        }
    }
    json!({"nftables": cmds})
}

/// The chains whose rules [`ruleset`] makes per bridge or per published
/// port, after the table's fixed rules.
const ITEM_CHAINS: [&str; 3] = ["ports", "forward", "postrouting"];

/// The batch that takes the kernel from table `applied` to table `wanted`
/// (both [`ruleset`]'s JSON text) by adding rules alone, when that can be
/// done: `None` when `wanted` lacks something of `applied` or adds more
/// than rules (then the table is rebuilt whole).
///
/// Why it is worth it: the kernel commits a batch that deletes anything
/// (a rule, an element, a table) only after an RCU grace period, 8-16 ms
/// here, where a batch that only adds commits in ~2 ms (`nft` started
/// and done, measured 2026-12-07). A start that publishes ports, or the
/// first container on a network, only adds; so it need not wait for a
/// rebuild.
///
/// Why appending is right: after the fixed rules (the `established` and
/// `dnat` accepts lead `forward`), the rules [`ruleset`] makes for one
/// bridge or one published port never match a packet that another
/// bridge's or port's rules match with a different verdict (`forward`
/// drops and accepts name their own bridge; `postrouting` only
/// masquerades; each port rule its own address, protocol and port, which
/// the port's reservation makes unique), and one bridge's rules come and
/// go together, in their order. So their order among each other does not
/// matter, and the table with the new ones appended acts as the rebuilt
/// one would.
pub fn appended(applied: &str, wanted: &str) -> Option<String> {
    let commands = |text: &str| -> Option<Vec<Value>> {
        let v: Value = serde_json::from_str(text).ok()?;
        v.get("nftables")?.as_array().cloned()
    };
    let (had, want) = (commands(applied)?, commands(wanted)?);
    let mut left: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for c in &had {
        *left.entry(c.to_string()).or_default() += 1;
    }
    let mut new = Vec::new();
    for c in want {
        match left.get_mut(&c.to_string()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                let chain = c.pointer("/add/rule/chain").and_then(Value::as_str)?;
                if !ITEM_CHAINS.contains(&chain) {
                    return None;
                }
                new.push(c);
            }
        }
    }
    if left.values().any(|n| *n > 0) {
        return None;
    }
    Some(json!({ "nftables": new }).to_string())
}

/// The batch that makes table `wanted` ([`ruleset`]'s JSON text) where
/// none is: [`ruleset`]'s own batch without its deletion of a table that
/// may be there, which would make the kernel wait out a grace period
/// (8-20 ms) even for a table that is not (see [`appended`]). It creates
/// the table instead, so it fails, changing nothing, if the table is
/// there after all (then it is rebuilt). `None` when `wanted` holds no
/// table.
pub fn created(wanted: &str) -> Option<String> {
    let v: Value = serde_json::from_str(wanted).ok()?;
    let cmds = v.get("nftables")?.as_array()?;
    let [add, delete, again, rest @ ..] = cmds.as_slice() else {
        return None;
    };
    let table = add.get("add")?;
    if delete.get("delete")? != table || again.get("add")? != table {
        return None;
    }
    let mut out = vec![json!({ "create": table })];
    out.extend(rest.iter().cloned());
    Some(json!({ "nftables": out }).to_string())
}

/// Apply a batch made by [`ruleset`], as its JSON text (one `nft -j -f -`,
/// atomic), and return once the kernel has committed it, not when `nft`
/// has exited.
///
/// `nft` closes its netlink socket last, and the kernel makes that close
/// wait for the commit's deferred destruction of what the batch replaced
/// (`nft_rcv_nl_event` flushes `nf_tables_trans_destroy_work`, which
/// waits out an RCU grace period): 7-12 ms of a 12-20 ms run here, after
/// the rules are in force. With `--echo` `nft` prints the committed
/// batch before that close; its first line is the signal. A run that
/// fails prints nothing there and is waited for (its stderr is the
/// error). The finished `nft` is a straggler: [`reap_stragglers`].
pub fn apply(batch: &str) -> NetResult<()> {
    begin(batch)?.finish()
}

/// [`apply`] in two halves: `nft` started on `batch` here, its commit
/// confirmed by [`Applying::finish`], so that the caller works on
/// meanwhile (a start builds its container while its table commits).
pub fn begin(batch: &str) -> NetResult<Applying> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("nft")
        .args(["-j", "-e", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| apply_failed(format!("running nft: {e}")))?;
    // A batch is a few KiB: the pipe takes it whole. The end closes here,
    // and `nft` reads to the end before it commits.
    if let Some(mut stdin) = child.stdin.take() {
        // A failed write shows as nft's own error in `finish`.
        let _ = stdin.write_all(batch.as_bytes());
    }
    Ok(Applying { child: Some(child) })
}

fn apply_failed(what: String) -> NetworkError {
    NetworkError::System(format!("applying nftables rules: {what}"))
}

/// An `nft` run [`begin`] started; dropped unfinished, it is waited for.
pub struct Applying {
    child: Option<std::process::Child>,
}

impl Applying {
    /// Return once the kernel has committed the batch (or why it did not).
    pub fn finish(mut self) -> NetResult<()> {
        use std::io::BufRead;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let mut echo = String::new();
        let committed = child
            .stdout
            .take()
            .map(std::io::BufReader::new)
            .is_some_and(|mut out| out.read_line(&mut echo).is_ok_and(|n| n > 0));
        if committed {
            if let Ok(mut s) = STRAGGLERS.lock() {
                s.push(child);
            }
            return Ok(());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| apply_failed(format!("waiting for nft: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        Err(apply_failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

/// `nft` runs that committed and were not waited for (see [`apply`]).
static STRAGGLERS: std::sync::Mutex<Vec<std::process::Child>> = std::sync::Mutex::new(Vec::new());

/// Wait for the `nft` runs [`apply`] left finishing: a long-lived process
/// calls this where a wait costs nobody anything (a monitor once its
/// container runs; the API server on SIGCHLD, with `block` false). A
/// process about to exit need not: its stragglers go to init. Only
/// processes that never wait for any child (`waitpid(-1)`) before this
/// may call it, or a reaped straggler's reused pid could be taken.
pub fn reap_stragglers(block: bool) {
    let Ok(mut s) = STRAGGLERS.lock() else {
        return;
    };
    s.retain_mut(|c| {
        if block {
            let _ = c.wait();
            return false;
        }
        matches!(c.try_wait(), Ok(None))
    });
}

/// Where the last ruleset applied to `table` is remembered (see
/// `apply_rules`). It lives in /run, so a reboot, which empties the
/// kernel's tables, forgets it too.
pub(crate) fn applied(table: &str) -> std::path::PathBuf {
    std::path::Path::new(crate::ipam::RUN_DIR).join(format!("{table}.nft"))
}

/// Delete `table` (if it is there) and what remembers it.
pub(crate) fn delete_table(table: &str) -> NetResult<()> {
    let _ = std::fs::remove_file(applied(table));
    apply(&ruleset(table, &[], &[]).to_string())
}

/// The `inet` tables in the kernel.
pub(crate) fn tables() -> Vec<String> {
    let out = std::process::Command::new("nft")
        .args(["list", "tables", "inet"])
        .stderr(std::process::Stdio::null())
        .output();
    let Ok(out) = out else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("table inet "))
        .map(str::to_string)
        .collect()
}

/// Whether the table exists (tests and leak checks).
pub fn table_exists(table: &str) -> bool {
    std::process::Command::new("nft")
        .args(["list", "table", "inet", table])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn empty_state_only_removes_the_table() {
        let v = ruleset("wharf-x", &[], &[]);
        assert_eq!(v["nftables"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn rules_name_bridges_and_ports() {
        let b = BridgeRules {
            bridge: "wharf-x".into(),
            subnet: "172.18.0.0/16".parse().unwrap(),
            subnet6: None,
            internal: false,
            masquerade: true,
        };
        let p = PortRule {
            proto: "tcp".into(),
            host_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            host_port: 8080,
            container_ip: IpAddr::V4(Ipv4Addr::new(172, 18, 0, 2)),
            container_port: 80,
        };
        let text = ruleset("wharf-x", std::slice::from_ref(&b), &[p]).to_string();
        assert!(text.contains("\"masquerade\""));
        // Packets to 127.0.0.0/8 from anywhere but lo are dropped before NAT.
        let batch = ruleset("wharf-x", std::slice::from_ref(&b), &[]);
        let cmds = batch["nftables"].as_array().unwrap();
        let chain = cmds
            .iter()
            .find_map(|c| {
                c["add"]["chain"]
                    .as_object()
                    .filter(|c| c["name"] == "localnet")
            })
            .expect("a localnet chain");
        assert_eq!(chain["hook"], "prerouting");
        assert_eq!(chain["prio"], -300);
        let rule = cmds
            .iter()
            .find_map(|c| {
                c["add"]["rule"]
                    .as_object()
                    .filter(|r| r["chain"] == "localnet")
            })
            .expect("a localnet rule");
        assert_eq!(
            rule["expr"],
            json!([
                {"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv4"}},
                {"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "lo"}},
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                           "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}},
                {"drop": null}
            ])
        );
        assert!(text.contains("\"addr\":\"172.18.0.2\""), "{text}");
        assert!(text.contains("127.0.0.1"));
    }

    /// The kernel's nft accepts the batch (`--check`: nothing changes).
    #[test]
    fn nft_accepts_the_ruleset() {
        let bridges = [
            BridgeRules {
                bridge: "wharf-chk0".into(),
                subnet: "172.30.0.0/16".parse().unwrap(),
                subnet6: Some("fd77:30::/64".parse().unwrap()),
                internal: false,
                masquerade: true,
            },
            BridgeRules {
                bridge: "wharf-chk1".into(),
                subnet: "172.31.0.0/16".parse().unwrap(),
                subnet6: None,
                internal: true,
                masquerade: true,
            },
        ];
        let ports = [
            PortRule {
                proto: "udp".into(),
                host_ip: None,
                host_port: 5353,
                container_ip: IpAddr::V4(Ipv4Addr::new(172, 30, 0, 2)),
                container_port: 53,
            },
            PortRule {
                proto: "tcp".into(),
                host_ip: Some("fd77:30::1".parse().unwrap()),
                host_port: 8080,
                container_ip: "fd77:30::2".parse().unwrap(),
                container_port: 80,
            },
        ];
        let batch = ruleset("wharf-check", &bridges, &ports).to_string();
        nftables::helper::apply_ruleset_raw(&batch, nftables::helper::DEFAULT_NFT, ["-c"])
            .unwrap_or_else(|e| panic!("nft rejected the ruleset: {e}\n{batch}"));
    }

    fn bridge(n: u8) -> BridgeRules {
        BridgeRules {
            bridge: format!("wharf-app{n}"),
            subnet: format!("172.{}.0.0/16", 40 + n).parse().unwrap(),
            subnet6: None,
            internal: n % 2 == 1,
            masquerade: true,
        }
    }

    fn port(n: u8, host_port: u16) -> PortRule {
        PortRule {
            proto: "tcp".into(),
            host_ip: None,
            host_port,
            container_ip: IpAddr::V4(Ipv4Addr::new(172, 40 + n, 0, 2)),
            container_port: 80,
        }
    }

    fn commands(batch: &str) -> Vec<Value> {
        let v: Value = serde_json::from_str(batch).unwrap();
        v["nftables"].as_array().unwrap().clone()
    }

    #[test]
    fn a_new_port_or_bridge_is_only_added() {
        let before = ruleset("t", &[bridge(0)], &[port(0, 8080)]).to_string();
        // A port that sorts before the one in force: still an append.
        let more = ruleset("t", &[bridge(0)], &[port(0, 80), port(0, 8080)]).to_string();
        let add = commands(&appended(&before, &more).expect("only rules added"));
        assert_eq!(add.len(), 1);
        assert_eq!(add[0]["add"]["rule"]["chain"], "ports");
        // A second bridge: its rules, in their own order (accept first).
        let two = ruleset("t", &[bridge(0), bridge(1)], &[port(0, 8080)]).to_string();
        let add = commands(&appended(&before, &two).expect("only rules added"));
        let chains: Vec<&str> = add
            .iter()
            .map(|c| c["add"]["rule"]["chain"].as_str().unwrap())
            .collect();
        assert_eq!(
            chains,
            [
                "forward",
                "forward",
                "forward",
                "postrouting",
                "postrouting"
            ]
        );
        assert_eq!(add[0]["add"]["rule"]["expr"][2], json!({"accept": null}));
        // Nothing new: nothing to add.
        assert!(commands(&appended(&before, &before).unwrap()).is_empty());
    }

    #[test]
    fn anything_gone_or_a_new_table_rebuilds() {
        let two = ruleset("t", &[bridge(0)], &[port(0, 80), port(0, 8080)]).to_string();
        let one = ruleset("t", &[bridge(0)], &[port(0, 8080)]).to_string();
        assert_eq!(appended(&two, &one), None, "a port gone");
        let none = ruleset("t", &[], &[]).to_string();
        assert_eq!(appended(&none, &one), None, "the table and chains are new");
        assert_eq!(appended(&one, &none), None, "the table goes");
        assert_eq!(appended("garbage", &one), None);
    }

    #[test]
    fn a_new_table_is_created_without_a_deletion() {
        let want = ruleset("t", &[bridge(0)], &[port(0, 8080)]);
        let made = commands(&created(&want.to_string()).expect("a table"));
        let all = want["nftables"].as_array().unwrap();
        assert_eq!(
            made[0],
            json!({"create": {"table": {"family": "inet", "name": "t"}}})
        );
        assert_eq!(made[1..], all[3..]);
        assert!(!made.iter().any(|c| c.get("delete").is_some()));
        assert_eq!(created(&ruleset("t", &[], &[]).to_string()), None);
    }

    /// A created table where there is none; where there is one, the batch
    /// fails and leaves it as it was.
    #[test]
    fn the_kernel_creates_a_table_only_where_there_is_none() {
        let table = format!("wharf-create-{}", std::process::id());
        let want = ruleset(&table, &[bridge(4)], &[port(4, 8080)]).to_string();
        let batch = created(&want).unwrap();
        let first = apply(&batch);
        let again = apply(&batch);
        let listed = std::process::Command::new("nft")
            .args(["list", "table", "inet", &table])
            .output()
            .unwrap();
        delete_table(&table).unwrap();
        reap_stragglers(true);
        first.unwrap();
        assert!(again.is_err(), "a second create must fail");
        let text = String::from_utf8_lossy(&listed.stdout);
        assert_eq!(text.matches("dport 8080").count(), 1, "{text}");
    }

    /// The kernel takes what [`appended`] makes, and the table then holds
    /// the rebuilt table's rules.
    #[test]
    fn the_kernel_takes_an_appended_batch() {
        let table = format!("wharf-append-{}", std::process::id());
        let before = ruleset(&table, &[bridge(2)], &[port(2, 8080)]).to_string();
        let after = ruleset(
            &table,
            &[bridge(2), bridge(3)],
            &[port(2, 80), port(2, 8080)],
        );
        let list = || {
            let out = std::process::Command::new("nft")
                .args(["-j", "list", "table", "inet", &table])
                .output()
                .unwrap();
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let mut rules: Vec<String> = v["nftables"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|o| o.get("rule"))
                .map(|r| format!("{} {}", r["chain"], r["expr"]))
                .collect();
            rules.sort();
            rules
        };
        apply(&before).unwrap();
        let batch = appended(&before, &after.to_string()).unwrap();
        let added = apply(&batch);
        let appended_rules = list();
        apply(&after.to_string()).unwrap();
        let rebuilt = list();
        delete_table(&table).unwrap();
        reap_stragglers(true);
        added.unwrap();
        assert_eq!(appended_rules, rebuilt);
    }
}

//! macvlan and ipvlan networks against the real kernel: containers on a
//! macvlan reach each other by name and are reached from the parent's
//! segment; link types this kernel lacks (ipvlan, 802.1Q, dummy) are
//! refused with one line and nothing made; docker 20.10 side by side.
//!
//! The parent is always a veth pair this test makes (never a real NIC),
//! its peer in a namespace of its own; both go at the end, even on failure.

mod common;

use std::process::Command;

use common::{docker, require_docker, sh, Wharf};
use serde_json::Value;

/// A segment of our own: veth `parent` on the host (up), its peer up in
/// namespace `ns`. Dropped, both go.
struct Segment {
    parent: String,
    ns: String,
}

impl Segment {
    fn new() -> Segment {
        common::require_root();
        let n = std::process::id() % 100_000;
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let k = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let s = Segment {
            parent: format!("wmv{n}p{k}"),
            ns: format!("wmv{n}ns{k}"),
        };
        let peer = format!("wmv{n}q{k}");
        sh(Command::new("ip").args(["netns", "add", &s.ns]));
        sh(Command::new("ip").args([
            "link", "add", &s.parent, "type", "veth", "peer", "name", &peer, "netns", &s.ns,
        ]));
        sh(Command::new("ip").args(["link", "set", &s.parent, "up"]));
        s.ip(&["link", "set", &peer, "up"]);
        s.ip(&["link", "set", "lo", "up"]);
        s
    }

    /// `ip ARGS` inside the segment's namespace.
    fn ip(&self, args: &[&str]) -> String {
        sh(Command::new("ip")
            .args(["netns", "exec", &self.ns, "ip"])
            .args(args))
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.parent])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

fn wharf() -> Wharf {
    let w = Wharf::new();
    w.import_busybox("bb");
    w
}

fn inspect(w: &Wharf, net: &str) -> Value {
    let out = w.ok(["network", "inspect", net]);
    serde_json::from_str::<Value>(&out).expect("inspect JSON")[0].clone()
}

/// Whether this kernel can make links of `kind` (what `ip` says).
fn kernel_has(kind: &str) -> bool {
    let name = format!("wmvk{}", std::process::id() % 100_000);
    let out = Command::new("ip")
        .args(["link", "add", &name, "type", kind])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let _ = Command::new("ip").args(["link", "del", &name]).output();
    }
    !err.contains("Unknown device type") && !err.contains("not supported")
}

#[test]
fn macvlan_containers_reach_each_other_by_name_and_the_segment() {
    let seg = Segment::new();
    let w = wharf();
    let parent = format!("parent={}", seg.parent);
    let id = w.ok([
        "network",
        "create",
        "-d",
        "macvlan",
        "--subnet",
        "10.213.7.0/24",
        "-o",
        &parent,
        "mv",
    ]);
    assert_eq!(id.trim().len(), 64, "{id}");
    for c in ["c1", "c2"] {
        w.ok([
            "run",
            "-d",
            "--name",
            c,
            "--network",
            "mv",
            "bb",
            "sleep",
            "300",
        ]);
    }
    let ip_of = |c: &str| {
        w.ok([
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.mv.IPAddress}}",
            c,
        ])
        .trim()
        .to_string()
    };
    let (ip1, ip2) = (ip_of("c1"), ip_of("c2"));
    let gw = w.ok([
        "inspect",
        "--format",
        "{{.NetworkSettings.Networks.mv.Gateway}}",
        "c1",
    ]);
    assert_eq!(gw.trim(), "10.213.7.1");
    assert_eq!(ip1, "10.213.7.2");
    assert_eq!(ip2, "10.213.7.3");
    // By name, through the network's DNS server.
    let ping = w.ok(["exec", "c1", "busybox", "ping", "-c1", "-W3", "c2"]);
    assert!(ping.contains(&format!("from {ip2}")), "{ping}");
    let look = w.ok(["exec", "c2", "busybox", "nslookup", "c1"]);
    assert!(look.contains(&format!("Address: {ip1}")), "{look}");
    // The parent's segment: a macvlan of the same parent in a namespace of
    // the test's own (the host itself cannot reach its macvlan children).
    let host_ns = format!("{}h", seg.ns);
    let _host_ns = NsGuard(host_ns.clone());
    sh(Command::new("ip").args(["netns", "add", &host_ns]));
    sh(Command::new("ip").args([
        "link",
        "add",
        "link",
        &seg.parent,
        "name",
        &format!("{}m", seg.parent),
        "netns",
        &host_ns,
        "type",
        "macvlan",
        "mode",
        "bridge",
    ]));
    let in_ns = |args: &[&str]| {
        sh(Command::new("ip")
            .args(["netns", "exec", &host_ns])
            .args(args))
    };
    in_ns(&[
        "ip",
        "addr",
        "add",
        "10.213.7.200/24",
        "dev",
        &format!("{}m", seg.parent),
    ]);
    in_ns(&["ip", "link", "set", &format!("{}m", seg.parent), "up"]);
    let ping = in_ns(&["busybox", "ping", "-c1", "-W3", &ip1]);
    assert!(ping.contains("1 packets received"), "{ping}");
    let ping = w.ok([
        "exec",
        "c2",
        "busybox",
        "ping",
        "-c1",
        "-W3",
        "10.213.7.200",
    ]);
    assert!(ping.contains("1 packets received"), "{ping}");
    // `network inspect` as docker shows such a network.
    let n = inspect(&w, "mv");
    assert_eq!(n["Driver"], "macvlan");
    assert_eq!(n["Options"], serde_json::json!({"parent": seg.parent}));
    assert_eq!(
        n["IPAM"]["Config"],
        serde_json::json!([{"Subnet": "10.213.7.0/24"}])
    );
    let names: Vec<&str> = n["Containers"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // The last container gone takes the DNS namespace and server with it.
    w.ok(["rm", "-f", "c1", "c2"]);
    let left: Vec<_> = std::fs::read_dir(w.root().join("network"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(w.ok(["network", "rm", "mv"]).trim(), "mv");
}

/// Removes a namespace on drop.
struct NsGuard(String);

impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn link_types_the_kernel_lacks_are_refused_with_nothing_made() {
    let seg = Segment::new();
    let w = Wharf::new();
    let parent = format!("parent={}", seg.parent);
    let vlan = format!("parent={}.10", seg.parent);
    // The links this test's networks could make: the VLAN sub-interface,
    // a dummy parent, this root's. Other tests make and delete theirs
    // meanwhile.
    let tag = w.tag();
    let ours = || -> Vec<String> {
        sh(Command::new("ip").args(["-o", "link", "show"]))
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .filter(|n| {
                n.starts_with(&format!("{}.", seg.parent))
                    || n.starts_with("dm-")
                    || n.starts_with("di-")
                    || n.starts_with(&format!("wb{tag}-"))
                    || n.starts_with(&format!("wv{tag}"))
                    || *n == format!("wharf-{tag}")
            })
            .collect()
    };
    let links_before = ours();
    let cases: [(&str, Vec<&str>, &str); 3] = [
        (
            "ipvlan",
            vec!["-d", "ipvlan", "-o", &parent, "--subnet", "10.213.8.0/24", "iv"],
            "network iv: this kernel has no ipvlan support (CONFIG_IPVLAN), the network cannot be created",
        ),
        (
            "vlan",
            vec!["-d", "macvlan", "-o", &vlan, "--subnet", "10.213.9.0/24", "vl"],
            "network vl: this kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q, for the sub-interface",
        ),
        (
            "dummy",
            vec!["-d", "macvlan", "--subnet", "10.213.10.0/24", "dm"],
            "network dm: this kernel has no dummy link support (CONFIG_DUMMY",
        ),
    ];
    for (kind, args, message) in cases {
        let mut full = vec!["network", "create"];
        full.extend(args.iter().copied());
        if kernel_has(kind) {
            // A kernel with it: the network is made (and removed).
            eprintln!("this kernel has {kind}: creating for real");
            let name = *args.last().unwrap();
            w.ok(&full);
            w.ok(["network", "rm", name]);
            continue;
        }
        eprintln!("this kernel lacks {kind}: checking the refusal");
        let (code, err) = w.fails(&full);
        assert_eq!(code, 1, "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(message), "{kind}: {err}");
    }
    let nets = w.ok(["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(nets.lines().count(), 3, "only the predefined: {nets}");
    assert_eq!(links_before, ours(), "no link made");
}

/// The message after docker's or wharf's error prefix.
fn message(err: &str) -> String {
    let line = err.lines().next().unwrap_or("");
    line.strip_prefix("Error response from daemon: ")
        .or_else(|| line.strip_prefix("Error: "))
        .unwrap_or(line)
        .to_string()
}

#[test]
fn network_create_and_inspect_match_docker() {
    require_docker();
    let seg = Segment::new();
    let w = Wharf::new();
    let parent = format!("parent={}", seg.parent);
    let dname = common::unique("wmv");
    let _gone = DockerNet(dname.clone());
    // Errors: same words.
    let bad: [Vec<&str>; 5] = [
        vec!["-d", "overlay"],
        vec!["-d", "macvlan", "-o", &parent, "-o", "macvlan_mode=foo"],
        vec!["-d", "macvlan", "-o", "parent=wmvnosuch0"],
        vec![
            "-d",
            "macvlan",
            "-o",
            &parent,
            "--aux-address",
            "a=10.99.0.5",
        ],
        vec![
            "-d",
            "macvlan",
            "-o",
            &parent,
            "-o",
            "ipvlan_mode=x",
            "-o",
            "macvlan_mode=l9",
        ],
    ];
    for args in &bad {
        let mut full = vec!["network", "create"];
        full.extend(args.iter().copied());
        full.extend(["--subnet", "10.213.11.0/24", &dname]);
        let d = docker().args(&full).output().unwrap();
        assert!(!d.status.success(), "docker {full:?}");
        let (code, err) = w.fails(&full);
        assert_eq!(Some(code), d.status.code(), "{full:?}");
        assert_eq!(
            message(&err),
            message(&String::from_utf8_lossy(&d.stderr)),
            "{full:?}"
        );
    }
    // The same network in both: same inspect keys and values.
    let args = [
        "network",
        "create",
        "-d",
        "macvlan",
        "--subnet",
        "10.213.12.0/24",
        "--gateway",
        "10.213.12.254",
        "--ip-range",
        "10.213.12.128/25",
        "--internal",
        "--aux-address",
        "router2=10.213.12.253",
        "-o",
        &parent,
        "-o",
        "macvlan_mode=bridge",
        &dname,
    ];
    sh(docker().args(args));
    w.ok(args);
    let d: Value =
        serde_json::from_str(&sh(docker().args(["network", "inspect", &dname]))).unwrap();
    let d = d[0].clone();
    let ours = inspect(&w, &dname);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(&d));
    for k in [
        "Driver",
        "Scope",
        "Internal",
        "Options",
        "EnableIPv6",
        "Containers",
    ] {
        assert_eq!(ours[k], d[k], "{k}");
    }
    assert_eq!(ours["IPAM"]["Config"], d["IPAM"]["Config"]);
    // One network per parent, as docker has it.
    let again = [
        "network", "create", "-d", "macvlan", "-o", &parent, "second",
    ];
    let (_, err) = w.fails(again);
    assert!(
        message(&err).starts_with("network dm-")
            && err.contains("is already using parent interface"),
        "{err}"
    );
}

/// Removes a docker network on drop.
struct DockerNet(String);

impl Drop for DockerNet {
    fn drop(&mut self) {
        let _ = docker().args(["network", "rm", &self.0]).output();
    }
}

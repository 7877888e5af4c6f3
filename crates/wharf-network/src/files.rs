//! /etc/hosts and /etc/resolv.conf for a container, as docker writes them.

use std::net::{IpAddr, Ipv4Addr};

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Docker's /etc/hosts: the base entries, `--add-host` lines, then the
/// container's own addresses (IPv4, then IPv6 on a dual-stack network)
/// and hostname.
pub fn hosts(
    extra: &[(String, String)],
    own: &[IpAddr],
    hostname: &str,
    domainname: &str,
) -> String {
    let mut out = HOSTS_BASE.to_string();
    for (name, ip) in extra {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    for ip in own {
        out.push_str(&hosts_entry(*ip, hostname, domainname));
    }
    out
}

/// The /etc/hosts line of one of the container's own addresses.
pub fn hosts_entry(ip: IpAddr, hostname: &str, domainname: &str) -> String {
    if domainname.is_empty() {
        format!("{ip}\t{hostname}\n")
    } else {
        format!("{ip}\t{hostname}.{domainname} {hostname}\n")
    }
}

/// `network connect`/`disconnect` of a running container: its hosts
/// file gains the lines of the new endpoint's addresses (`add`), or
/// loses those of `remove`.
pub fn update_hosts(text: &str, add: &[String], remove: &[IpAddr]) -> String {
    let mut out: String = text
        .lines()
        .filter(|l| {
            let first = l.split_whitespace().next().unwrap_or("");
            !first.parse::<IpAddr>().is_ok_and(|ip| remove.contains(&ip))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for line in add {
        out.push_str(line);
    }
    out
}

/// What `--dns`, `--dns-search` and `--dns-option` ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DnsOptions {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

fn is_loopback(server: &str) -> bool {
    server
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Docker's resolv.conf: the host's, minus loopback nameservers (they
/// mean nothing inside the container; Google's if none is left), with
/// `--dns*` replacing their part. On a user-defined network the
/// nameserver is the network's own DNS server (`embedded`).
pub fn resolv_conf(host: &str, opts: &DnsOptions, embedded: Option<Ipv4Addr>) -> String {
    let mut servers = Vec::new();
    let mut search = Vec::new();
    let mut options = Vec::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => servers.extend(words.next().map(str::to_string)),
            Some("search") | Some("domain") => search = words.map(str::to_string).collect(),
            Some("options") => options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    if !opts.servers.is_empty() {
        servers = opts.servers.clone();
    }
    if !opts.search.is_empty() {
        search = opts.search.clone();
    }
    if !opts.options.is_empty() {
        options = opts.options.clone();
    }
    servers.retain(|s| !is_loopback(s) || !opts.servers.is_empty());
    match embedded {
        Some(ip) => {
            // Our server answers container names and forwards the rest.
            servers = vec![ip.to_string()];
            if !options.iter().any(|o| o.starts_with("ndots:")) {
                options.push("ndots:0".into());
            }
        }
        None if servers.is_empty() => servers = vec!["8.8.8.8".into(), "8.8.4.4".into()],
        None => {}
    }
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_end_with_the_container() {
        let h = hosts(
            &[("db".into(), "10.0.0.5".into())],
            &[
                IpAddr::V4(Ipv4Addr::new(172, 18, 0, 2)),
                "fd00:1::2".parse().unwrap(),
            ],
            "abc",
            "",
        );
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(
            h.ends_with("10.0.0.5\tdb\n172.18.0.2\tabc\nfd00:1::2\tabc\n"),
            "{h}"
        );
    }

    #[test]
    fn resolv_conf_like_docker() {
        let host =
            "search example.org\nnameserver 127.0.0.53\nnameserver 10.1.1.1\noptions edns0\n";
        let d = resolv_conf(host, &DnsOptions::default(), None);
        assert_eq!(
            d,
            "search example.org\nnameserver 10.1.1.1\noptions edns0\n"
        );
        let only_local = resolv_conf("nameserver 127.0.0.53\n", &DnsOptions::default(), None);
        assert!(only_local.contains("nameserver 8.8.8.8"));
        let user = resolv_conf(
            host,
            &DnsOptions::default(),
            Some(Ipv4Addr::new(172, 20, 0, 1)),
        );
        assert_eq!(
            user,
            "search example.org\nnameserver 172.20.0.1\noptions edns0 ndots:0\n"
        );
        let flags = DnsOptions {
            servers: vec!["1.2.3.4".into()],
            ..Default::default()
        };
        assert!(resolv_conf(host, &flags, None).contains("nameserver 1.2.3.4\n"));
    }
}

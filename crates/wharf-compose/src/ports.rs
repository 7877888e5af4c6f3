//! The short syntax of service ports (`8080:80`, `127.0.0.1::5000`,
//! `8000-8001:80-81/udp`), parsed as docker's go-connections `nat` package
//! and compose-go's `ParsePortConfig` do, sorted the same way.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use crate::error::{invalid, Result};

struct Mapping {
    key: String,
    host_ip: String,
    host_port: String,
    target: u64,
    protocol: String,
}

/// Expands one short port spec into Compose's long entries.
pub fn parse_port_config(raw: &str) -> Result<Vec<Value>> {
    let mut maps = parse_spec(raw).map_err(invalid)?;
    // compose-go sorts by nat.Port ("80/tcp"), as strings.
    maps.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(maps
        .into_iter()
        .map(|m| {
            let mut o = Map::new();
            o.insert("mode".into(), json!("ingress"));
            if !m.host_ip.is_empty() {
                o.insert("host_ip".into(), json!(m.host_ip));
            }
            o.insert("target".into(), json!(m.target));
            if !m.host_port.is_empty() {
                o.insert("published".into(), json!(m.host_port));
            }
            o.insert("protocol".into(), json!(m.protocol));
            Value::Object(o)
        })
        .collect())
}

fn split_parts(raw: &str) -> (String, String, String) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let container = parts[n - 1].to_string();
    match n {
        1 => (String::new(), String::new(), container),
        2 => (String::new(), parts[0].to_string(), container),
        3 => (parts[0].to_string(), parts[1].to_string(), container),
        _ => (
            parts[..n - 2].join(":"),
            parts[n - 2].to_string(),
            container,
        ),
    }
}

fn split_proto_port(raw: &str) -> (String, String) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), String::new());
    }
    if parts.len() == 1 || parts[1].is_empty() {
        return ("tcp".into(), parts[0].to_string());
    }
    (parts[1].to_string(), parts[0].to_string())
}

fn parse_range(ports: &str) -> Option<(u64, u64)> {
    if ports.is_empty() {
        return None;
    }
    let p16 = |s: &str| {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u16>().ok().map(u64::from)
    };
    match ports.split_once('-') {
        None => p16(ports).map(|p| (p, p)),
        Some((a, b)) => {
            let b = b.split('-').next().unwrap_or(b);
            let (s, e) = (p16(a)?, p16(b)?);
            (e >= s).then_some((s, e))
        }
    }
}

fn parse_spec(raw: &str) -> Result<Vec<Mapping>, String> {
    let (mut ip, host_port, container) = split_parts(raw);
    let (proto, container) = split_proto_port(&container);
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(inner) => ip = inner.to_string(),
            None => return Err(format!("invalid IP address {ip}")),
        }
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) =
        parse_range(&container).ok_or_else(|| format!("invalid containerPort: {container}"))?;
    let (mut hstart, mut hend) = (0, 0);
    if !host_port.is_empty() {
        (hstart, hend) =
            parse_range(&host_port).ok_or_else(|| format!("invalid hostPort: {host_port}"))?;
    }
    if !host_port.is_empty() && (end - start) != (hend - hstart) && end != start {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container} and {host_port}"
        ));
    }
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let c = start + i;
        let mut hp = String::new();
        if !host_port.is_empty() {
            hp = (hstart + i).to_string();
        }
        if start == end && hstart != hend {
            hp = format!("{hp}-{hend}");
        }
        out.push(Mapping {
            key: format!("{c}/{proto}"),
            host_ip: ip.clone(),
            host_port: hp,
            target: c,
            protocol: proto.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            parse_port_config("127.0.0.1::5000").unwrap(),
            vec![
                json!({"mode": "ingress", "host_ip": "127.0.0.1", "target": 5000, "protocol": "tcp"})
            ]
        );
        let v = parse_port_config("8000-8001:9-10/udp").unwrap();
        assert_eq!(v[0]["target"], 10);
        assert_eq!(v[0]["published"], "8001");
        assert_eq!(
            parse_port_config("8000-8002:80").unwrap(),
            vec![
                json!({"mode": "ingress", "target": 80, "published": "8000-8002", "protocol": "tcp"})
            ]
        );
        assert!(parse_port_config("1.2.3:80:80").is_err());
    }
}

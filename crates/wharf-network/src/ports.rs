//! `-p/--publish`, `--expose` and `-P`: parsing docker's port specs, and
//! reserving the host ports a container publishes.
//!
//! The traffic itself goes through nftables DNAT; the reservation is a
//! socket bound to each host port for as long as the container runs (held
//! by its monitor, as docker-proxy holds them), so a port in use by anyone
//! else is refused up front and nobody else can take it meanwhile.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::{NetResult, NetworkError};

/// One `-p` spec after expansion: a container port and where it is published.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortBinding {
    /// `tcp` or `udp`.
    pub proto: String,
    pub container_port: u16,
    /// `None` = every host address.
    pub host_ip: Option<Ipv4Addr>,
    /// The host ports to choose from: `(p, p)` for one, `(0, 0)` for any.
    pub host_ports: (u16, u16),
}

fn parse_range(s: &str, what: &str, allow_zero: bool) -> NetResult<(u16, u16)> {
    let bad = || NetworkError::Invalid(format!("Invalid {what}: {s}"));
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if b < a || (!allow_zero && a == 0) {
        return Err(bad());
    }
    Ok((a, b))
}

/// `80`, `80/udp`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`,
/// `8000-8002:80-82`, `8000-8010:80` (any one of the host ports).
pub fn parse_publish(spec: &str) -> NetResult<Vec<PortBinding>> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(NetworkError::Invalid(format!("Invalid proto: {proto}")));
    }
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => (None, None, *c),
        [h, c] => (None, Some(*h), *c),
        [ip, h, c] => (Some(*ip), Some(*h), *c),
        _ => {
            return Err(NetworkError::Invalid(format!(
                "invalid port format for --publish: {spec}"
            )))
        }
    };
    let host_ip = match ip.filter(|ip| !ip.is_empty()) {
        None => None,
        Some(ip) => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            let parsed: Ipv4Addr = ip
                .parse()
                .map_err(|_| NetworkError::Invalid(format!("Invalid ip address: {ip}")))?;
            (!parsed.is_unspecified()).then_some(parsed)
        }
    };
    if container.is_empty() {
        return Err(NetworkError::Invalid(format!(
            "No port specified: {spec}<empty>"
        )));
    }
    let (c_lo, c_hi) = parse_range(container, "containerPort", false)?;
    let host = match host.filter(|h| !h.is_empty()) {
        None => None,
        Some(h) => Some(parse_range(h, "hostPort", true)?),
    };
    let count = c_hi - c_lo;
    let mut out = Vec::new();
    for i in 0..=count {
        let host_ports = match host {
            None => (0, 0),
            // One container port, a host range: any free port of the range.
            Some((lo, hi)) if count == 0 => (lo, hi),
            Some((lo, hi)) => {
                if hi - lo != count {
                    return Err(NetworkError::Invalid(format!(
                        "Invalid ranges specified for container and host Ports: {container} and {}",
                        host.map(|(a, b)| format!("{a}-{b}")).unwrap_or_default()
                    )));
                }
                (lo + i, lo + i)
            }
        };
        out.push(PortBinding {
            proto: proto.clone(),
            container_port: c_lo + i,
            host_ip,
            host_ports,
        });
    }
    Ok(out)
}

/// `--expose 80`, `80/udp`, `8000-8002`; and image `ExposedPorts` keys.
pub fn parse_expose(spec: &str) -> NetResult<Vec<(u16, String)>> {
    let (ports, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" && proto != "sctp" {
        return Err(NetworkError::Invalid(format!("Invalid proto: {proto}")));
    }
    let (lo, hi) = parse_range(ports, "range format for --expose specification", false)?;
    Ok((lo..=hi).map(|p| (p, proto.clone())).collect())
}

/// Bindings as docker's `HostConfig.PortBindings` carries them:
/// `"80/tcp" -> [{HostIp, HostPort}]` (`HostPort` a port, a range or empty).
pub fn to_port_map(bindings: &[PortBinding]) -> wharf_model::PortMap {
    let mut out = wharf_model::PortMap::new();
    for b in bindings {
        let port = match b.host_ports {
            (0, 0) => String::new(),
            (lo, hi) if lo == hi => lo.to_string(),
            (lo, hi) => format!("{lo}-{hi}"),
        };
        out.entry(format!("{}/{}", b.container_port, b.proto))
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(wharf_model::PortBinding {
                host_ip: b.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                host_port: port,
            });
    }
    out
}

/// The bindings of a `HostConfig.PortBindings` (an API client's as much
/// as the CLI's), checked as docker's daemon checks them.
pub fn from_port_map(map: &wharf_model::PortMap) -> NetResult<Vec<PortBinding>> {
    let mut out = Vec::new();
    for (key, list) in map {
        let ports = parse_expose(key)?;
        let [(container_port, proto)] = ports.as_slice() else {
            return Err(NetworkError::Invalid(format!(
                "invalid port specification: {key}"
            )));
        };
        if proto == "sctp" {
            return Err(NetworkError::Invalid(format!("Invalid proto: {proto}")));
        }
        for b in wharf_model::list(list) {
            let host_ip = match b.host_ip.trim_start_matches('[').trim_end_matches(']') {
                "" => None,
                ip => {
                    let parsed: Ipv4Addr = ip
                        .parse()
                        .map_err(|_| NetworkError::Invalid(format!("Invalid ip address: {ip}")))?;
                    (!parsed.is_unspecified()).then_some(parsed)
                }
            };
            let host_ports = match b.host_port.as_str() {
                "" => (0, 0),
                p => parse_range(p, "hostPort", true)?,
            };
            out.push(PortBinding {
                proto: proto.clone(),
                container_port: *container_port,
                host_ip,
                host_ports,
            });
        }
    }
    Ok(out)
}

/// A bound host port: kept open while the container publishes it.
pub enum Reservation {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// A published port as the container has it: the chosen host port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Published {
    pub proto: String,
    pub container_port: u16,
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
}

fn bind(proto: &str, addr: SocketAddrV4) -> std::io::Result<(Reservation, u16)> {
    if proto == "udp" {
        let s = UdpSocket::bind(addr)?;
        let port = s.local_addr()?.port();
        Ok((Reservation::Udp(s), port))
    } else {
        let s = TcpListener::bind(addr)?;
        let port = s.local_addr()?.port();
        Ok((Reservation::Tcp(s), port))
    }
}

/// Bind every binding's host port (a free one of its range, or one the
/// kernel picks); docker's error when a port is taken.
pub fn reserve(
    bindings: &[PortBinding],
    endpoint: &str,
) -> NetResult<(Vec<Published>, Vec<Reservation>)> {
    let mut published = Vec::new();
    let mut held = Vec::new();
    for b in bindings {
        let ip = b.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let (lo, hi) = b.host_ports;
        let mut last_err = None;
        let mut got = None;
        for port in lo..=hi {
            match bind(&b.proto, SocketAddrV4::new(ip, port)) {
                Ok(r) => {
                    got = Some(r);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let Some((res, port)) = got else {
            let what = if lo == hi {
                format!("{ip}:{lo}")
            } else {
                format!("{ip}:{lo}-{hi}")
            };
            let cause = match last_err {
                Some(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    "port is already allocated".to_string()
                }
                Some(e) => e.to_string(),
                None => "no port available".into(),
            };
            return Err(NetworkError::Conflict(format!(
                "driver failed programming external connectivity on endpoint {endpoint}: Bind for {what} failed: {cause}"
            )));
        };
        held.push(res);
        published.push(Published {
            proto: b.proto.clone(),
            container_port: b.container_port,
            host_ip: ip,
            host_port: port,
        });
    }
    Ok((published, held))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortBinding {
        let mut v = parse_publish(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn publish_specs() {
        let b = one("8080:80");
        assert_eq!(
            (b.container_port, b.host_ports, b.host_ip),
            (80, (8080, 8080), None)
        );
        assert_eq!(b.proto, "tcp");
        let b = one("127.0.0.1:8081:80");
        assert_eq!(b.host_ip, Some(Ipv4Addr::LOCALHOST));
        let b = one("127.0.0.1::80/udp");
        assert_eq!((b.host_ports, b.proto.as_str()), ((0, 0), "udp"));
        assert_eq!(one("80").host_ports, (0, 0));
        assert_eq!(one("0.0.0.0:90:80").host_ip, None);
        assert_eq!(one("8000-8010:80").host_ports, (8000, 8010));
        let r = parse_publish("8000-8002:80-82").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[2].container_port, r[2].host_ports), (82, (8002, 8002)));
        for bad in [
            "abc",
            "80/sctpx",
            "1.2.3:80:80",
            "8000-8001:80-82",
            "a:b:c:d",
            "8080:",
            "70000",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_expose("9000-9001/udp").unwrap().len(), 2);
        assert!(parse_expose("x").is_err());
    }

    #[test]
    fn reserve_refuses_a_taken_port() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let spec = format!("127.0.0.1:{port}:80");
        let err = reserve(&parse_publish(&spec).unwrap(), "web")
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("port is already allocated"),
            "{err}"
        );
        let (published, held) =
            reserve(&parse_publish("127.0.0.1::80/udp").unwrap(), "web").unwrap();
        assert_eq!(held.len(), 1);
        assert_ne!(published[0].host_port, 0);
    }
}

//! `-p/--publish`, `--expose` and `-P`: parsing docker's port specs, and
//! reserving the host ports a container publishes.
//!
//! The traffic itself goes through nftables DNAT; the reservation is a
//! socket bound to each host port for as long as the container runs (held
//! by its monitor, as docker-proxy holds them), so a port in use by anyone
//! else is refused up front and nobody else can take it meanwhile.
//!
//! IPv6 host addresses: the kernel will not DNAT a connection from `::1`
//! (IPv6 has no `route_localnet`), nor can it turn IPv6 into IPv4. Where
//! DNAT cannot deliver — `[::1]`, loopback connections to `[::]`, any
//! IPv6 port of a container without IPv6 — a `wharf port-proxy` process
//! (docker-proxy's role) accepts on the reserved socket and relays (TCP).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::{NetResult, NetworkError};

/// One `-p` spec after expansion: a container port and where it is published.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortBinding {
    /// `tcp` or `udp`.
    pub proto: String,
    pub container_port: u16,
    /// `None` = every host address.
    pub host_ip: Option<IpAddr>,
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

/// A `-p` host address (`[::1]` with or without brackets); `None` for
/// every address (`0.0.0.0`, or empty).
fn parse_host_ip(ip: &str) -> NetResult<Option<IpAddr>> {
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if ip.is_empty() {
        return Ok(None);
    }
    let parsed: IpAddr = ip
        .parse()
        .map_err(|_| NetworkError::Invalid(format!("Invalid ip address: {ip}")))?;
    // `0.0.0.0` is every address; `::` is every IPv6 one.
    Ok((parsed != IpAddr::V4(Ipv4Addr::UNSPECIFIED)).then_some(parsed))
}

/// `80`, `80/udp`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`,
/// `[::1]:8080:80`, `8000-8002:80-82`, `8000-8010:80` (any one of the
/// host ports).
pub fn parse_publish(spec: &str) -> NetResult<Vec<PortBinding>> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(NetworkError::Invalid(format!("Invalid proto: {proto}")));
    }
    let bad = || NetworkError::Invalid(format!("invalid port format for --publish: {spec}"));
    // An IPv6 host address comes in brackets: `[::1]:8080:80`.
    let (bracketed, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (ip, after) = r.split_once("]:").ok_or_else(bad)?;
            (Some(ip), after)
        }
        None => (None, rest),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (bracketed, parts.as_slice()) {
        (None, [c]) => (None, None, *c),
        (None, [h, c]) => (None, Some(*h), *c),
        (None, [ip, h, c]) => (Some(*ip), Some(*h), *c),
        (Some(ip), [h, c]) => (Some(ip), Some(*h), *c),
        _ => return Err(bad()),
    };
    let host_ip = parse_host_ip(ip.unwrap_or(""))?;
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
            let host_ip = parse_host_ip(&b.host_ip)?;
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
    pub host_ip: IpAddr,
    pub host_port: u16,
}

/// Bind `addr`; an IPv6 socket is IPv6-only, so `[::]` and `0.0.0.0` are
/// two reservations, as docker makes them.
fn bind(proto: &str, addr: SocketAddr) -> std::io::Result<(Reservation, u16)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let (ty, protocol) = match proto {
        "udp" => (Type::DGRAM, Protocol::UDP),
        _ => (Type::STREAM, Protocol::TCP),
    };
    let sock = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    if ty == Type::STREAM {
        // As std's TcpListener: a port in TIME_WAIT is free to take.
        sock.set_reuse_address(true)?;
    }
    sock.bind(&addr.into())?;
    let port = sock.local_addr()?.as_socket().map_or(0, |a| a.port());
    if ty == Type::DGRAM {
        return Ok((Reservation::Udp(sock.into()), port));
    }
    sock.listen(128)?;
    Ok((Reservation::Tcp(sock.into()), port))
}

/// Bind every binding's host port (a free one of its range, or one the
/// kernel picks); docker's error when a port is taken. With `dual` (the
/// container is on an IPv6 network) a binding on every address is made
/// on `[::]` too, with the same port.
pub fn reserve(
    bindings: &[PortBinding],
    endpoint: &str,
    dual: bool,
) -> NetResult<(Vec<Published>, Vec<Reservation>)> {
    let mut published = Vec::new();
    let mut held = Vec::new();
    let mut wanted: Vec<(PortBinding, IpAddr)> = Vec::new();
    for b in bindings {
        match b.host_ip {
            Some(ip) => wanted.push((b.clone(), ip)),
            None => {
                wanted.push((b.clone(), IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
                if dual {
                    wanted.push((b.clone(), IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
                }
            }
        }
    }
    for (b, ip) in wanted {
        // `[::]` beside `0.0.0.0`: the port the IPv4 one got.
        let (lo, hi) = match published.last() {
            Some(p) if ip.is_ipv6() && b.host_ip.is_none() => {
                let p: &Published = p;
                (p.host_port, p.host_port)
            }
            _ => b.host_ports,
        };
        let mut last_err = None;
        let mut got = None;
        for port in lo..=hi {
            match bind(&b.proto, SocketAddr::new(ip, port)) {
                Ok(r) => {
                    got = Some(r);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let Some((res, port)) = got else {
            let shown = match ip {
                IpAddr::V6(v6) => format!("[{v6}]"),
                IpAddr::V4(v4) => v4.to_string(),
            };
            let what = if lo == hi {
                format!("{shown}:{lo}")
            } else {
                format!("{shown}:{lo}-{hi}")
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

/// The fd a `wharf port-proxy` finds its listening socket on.
pub const PROXY_FD: i32 = 3;

/// Whether a published port needs the proxy: TCP on an IPv6 host address
/// that DNAT cannot serve (loopback, or a container without IPv6).
pub fn needs_proxy(p: &Published, container_has_ipv6: bool) -> bool {
    let IpAddr::V6(host) = p.host_ip else {
        return false;
    };
    p.proto == "tcp" && (!container_has_ipv6 || host.is_loopback() || host.is_unspecified())
}

/// A `wharf port-proxy` relaying one reserved port; it ends when this is
/// dropped, or with the process that started it.
pub struct Proxy(std::process::Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `exe --root ROOT port-proxy TO` accepting on `listener` (the
/// root only names whose it is, in `ps`).
pub fn start_proxy(
    exe: &std::path::Path,
    root: &std::path::Path,
    listener: &TcpListener,
    to: SocketAddr,
) -> NetResult<Proxy> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let raw = listener.as_raw_fd();
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--root")
        .arg(root)
        .arg("port-proxy")
        .arg(to.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The proxy must not outlive the monitor holding the port.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let ok = if raw == PROXY_FD {
                libc::fcntl(raw, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, PROXY_FD)
            };
            if ok < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map(Proxy)
        .map_err(|e| NetworkError::io("starting the port proxy", e))
}

/// The `wharf port-proxy TO` process: accept on [`PROXY_FD`], relay each
/// connection to `to` both ways, until killed.
pub fn serve_proxy(to: SocketAddr) -> NetResult<()> {
    use std::os::fd::FromRawFd;
    // SAFETY: the fd was placed by `start_proxy` and is owned by nobody else.
    let listener = unsafe { TcpListener::from_raw_fd(PROXY_FD) };
    loop {
        let (client, _) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(NetworkError::io("accepting a connection", e)),
        };
        std::thread::spawn(move || relay(client, to));
    }
}

fn relay(client: std::net::TcpStream, to: SocketAddr) {
    let Ok(server) = std::net::TcpStream::connect_timeout(&to, std::time::Duration::from_secs(5))
    else {
        return;
    };
    let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(std::net::Shutdown::Write);
    });
    let (mut c, mut s) = (client, server);
    let _ = std::io::copy(&mut s, &mut c);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
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
        assert_eq!(b.host_ip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let b = one("[::1]:8081:80");
        assert_eq!(b.host_ip, Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(b.host_ports, (8081, 8081));
        assert_eq!(
            one("[::]::80").host_ip,
            Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        );
        assert!(parse_publish("[::1:80:80").is_err());
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
        let err = reserve(&parse_publish(&spec).unwrap(), "web", false)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("port is already allocated"),
            "{err}"
        );
        let (published, held) =
            reserve(&parse_publish("127.0.0.1::80/udp").unwrap(), "web", false).unwrap();
        assert_eq!(held.len(), 1);
        assert_ne!(published[0].host_port, 0);
        // Every address of a dual-stack container: 0.0.0.0 and [::], one port.
        let (published, held) = reserve(&parse_publish("80").unwrap(), "web", true).unwrap();
        assert_eq!(held.len(), 2);
        assert_eq!(published[0].host_port, published[1].host_port);
        assert!(published[1].host_ip.is_ipv6());
    }
}

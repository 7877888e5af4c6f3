//! Where `wharf serve` listens: `-H` addresses as docker's daemon reads
//! them (`unix:///path`, `tcp://host:port`, `fd://` for systemd socket
//! activation), the unix socket made 0660 root:GROUP, and the rule that
//! tcp off loopback needs TLS client verification.

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::socket::SockaddrLike;

use crate::error::ServeError;

/// The socket a plain `wharf serve` listens on.
pub const DEFAULT_SOCKET: &str = "/run/wharf/wharf.sock";

/// One `-H` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenSpec {
    Unix(PathBuf),
    Tcp(String),
    /// `fd://`: the sockets systemd passed (socket activation).
    Systemd,
}

impl ListenSpec {
    pub fn parse(raw: &str) -> Result<ListenSpec, ServeError> {
        let bad = |why: &str| ServeError::BadAddress(raw.to_string(), why.to_string());
        if let Some(path) = raw.strip_prefix("unix://") {
            let path = if path.is_empty() {
                DEFAULT_SOCKET
            } else {
                path
            };
            if !path.starts_with('/') {
                return Err(bad("the socket path must be absolute"));
            }
            return Ok(ListenSpec::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = raw.strip_prefix("tcp://") {
            let addr = addr.trim_end_matches('/');
            if addr.is_empty() {
                return Err(bad("a tcp address needs a host"));
            }
            let addr = if addr.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
                addr.to_string()
            } else {
                format!("{addr}:2375")
            };
            return Ok(ListenSpec::Tcp(addr));
        }
        if raw == "fd://" {
            return Ok(ListenSpec::Systemd);
        }
        if raw.starts_with('/') {
            return Ok(ListenSpec::Unix(PathBuf::from(raw)));
        }
        Err(bad("expected unix:///path, tcp://host:port or fd://"))
    }
}

/// A bound listener, not yet handed to the runtime.
pub enum Bound {
    Unix(std::os::unix::net::UnixListener, PathBuf),
    Tcp(std::net::TcpListener),
}

/// Resolve a tcp address; refuse one off loopback unless `tls_verify`.
pub fn check_tcp(addr: &str, tls_verify: bool) -> Result<Vec<SocketAddr>, ServeError> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| ServeError::BadAddress(addr.to_string(), e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(ServeError::BadAddress(
            addr.to_string(),
            "resolves to no address".into(),
        ));
    }
    if !tls_verify && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(ServeError::Insecure(addr.to_string()));
    }
    Ok(addrs)
}

/// The group ID of `name` (a name or a number), from /etc/group.
pub fn group_id(name: &str) -> Result<u32, ServeError> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        _ => Err(ServeError::NoSuchGroup(name.to_string())),
    }
}

/// Bind a unix socket at `path`, mode 0660, owned by root and `gid`. A
/// stale socket (nobody answers) is replaced; a live one is an error.
pub fn bind_unix(path: &Path, gid: Option<u32>) -> Result<Bound, ServeError> {
    let io = |what: &str, e| ServeError::io(format!("{what} {}", path.display()), e);
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io(
                "listening on",
                std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another server is listening there",
                ),
            ));
        }
        std::fs::remove_file(path).map_err(|e| io("removing the stale socket", e))?;
    }
    // Never world-accessible, not even between bind and chmod.
    // SAFETY: umask only changes this process's file creation mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = std::os::unix::net::UnixListener::bind(path);
    // SAFETY: as above, restoring it.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(|e| io("listening on", e))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, Some(0), Some(gid)).map_err(|e| io("chown", e))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| io("chmod", e))?;
    Ok(Bound::Unix(listener, path.to_path_buf()))
}

pub fn bind_tcp(addrs: &[SocketAddr]) -> Result<Bound, ServeError> {
    std::net::TcpListener::bind(addrs)
        .map(Bound::Tcp)
        .map_err(|e| ServeError::io(format!("listening on {addrs:?}"), e))
}

/// The listening sockets systemd passed (`LISTEN_PID`/`LISTEN_FDS`, from
/// fd 3 on), or none when this process was not socket-activated.
pub fn systemd_sockets() -> Result<Vec<Bound>, ServeError> {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count: RawFd = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if !for_us || count <= 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for fd in 3..3 + count {
        // SAFETY: systemd hands these descriptors to us and nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        let family = nix::sys::socket::getsockname::<nix::sys::socket::SockaddrStorage>(fd)
            .map_err(|e| ServeError::io("reading a socket systemd passed", e.into()))?
            .family();
        match family {
            Some(nix::sys::socket::AddressFamily::Unix) => {
                let l = std::os::unix::net::UnixListener::from(owned);
                out.push(Bound::Unix(l, PathBuf::new()));
            }
            _ => out.push(Bound::Tcp(std::net::TcpListener::from(owned))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_like_dockerd() {
        assert_eq!(
            ListenSpec::parse("unix:///tmp/x.sock").unwrap(),
            ListenSpec::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            ListenSpec::parse("unix://").unwrap(),
            ListenSpec::Unix(DEFAULT_SOCKET.into())
        );
        assert_eq!(
            ListenSpec::parse("tcp://127.0.0.1").unwrap(),
            ListenSpec::Tcp("127.0.0.1:2375".into())
        );
        assert_eq!(
            ListenSpec::parse("tcp://[::1]:99").unwrap(),
            ListenSpec::Tcp("[::1]:99".into())
        );
        assert_eq!(ListenSpec::parse("fd://").unwrap(), ListenSpec::Systemd);
        assert!(ListenSpec::parse("http://x").is_err());
        assert!(ListenSpec::parse("unix://rel").is_err());
    }

    #[test]
    fn tcp_off_loopback_needs_tls() {
        assert!(check_tcp("127.0.0.1:2375", false).is_ok());
        assert!(matches!(
            check_tcp("0.0.0.0:2375", false),
            Err(ServeError::Insecure(_))
        ));
        assert!(check_tcp("0.0.0.0:2375", true).is_ok());
    }
}

//! How wharf reaches registries: which are insecure, where per-registry CAs
//! and credentials live, how long to wait. Docker keeps these in the
//! daemon's configuration; wharf has no daemon, so they come from the
//! environment (with docker's defaults):
//!
//! - `WHARF_INSECURE_REGISTRIES`: comma-separated `host[:port]` names or
//!   CIDRs, like dockerd's `--insecure-registry`. Loopback (127.0.0.0/8,
//!   ::1, `localhost`) is always insecure, as in docker. An insecure
//!   registry is tried over HTTPS without certificate checks first, then
//!   over plain HTTP.
//! - `WHARF_CERTS_D`: the per-registry CA directory, default
//!   `/etc/docker/certs.d` (`<host[:port]>/*.crt`). A registry that has a CA
//!   there is always verified against it, even on loopback.
//! - `DOCKER_CONFIG`: the client config directory (`~/.docker`), holding
//!   `config.json` with credentials, as the docker CLI uses it.
//! - `WHARF_REGISTRY_TIMEOUT`: seconds to wait for a connection or for the
//!   next bytes of an answer (default 30).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub insecure: Vec<String>,
    pub certs_dir: PathBuf,
    pub config_dir: PathBuf,
    pub timeout: Duration,
    /// Layers downloaded or uploaded at once (docker's default is 3 / 5).
    pub max_concurrent: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            certs_dir: PathBuf::from("/etc/docker/certs.d"),
            config_dir: default_config_dir(),
            timeout: Duration::from_secs(30),
            max_concurrent: 4,
        }
    }
}

fn default_config_dir() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".docker")
        }
    }
}

impl RegistryOptions {
    /// Docker's defaults, overridden by the `WHARF_*`/`DOCKER_CONFIG` variables.
    pub fn from_env() -> RegistryOptions {
        let mut o = RegistryOptions::default();
        if let Ok(list) = std::env::var("WHARF_INSECURE_REGISTRIES") {
            o.insecure = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(d) = std::env::var_os("WHARF_CERTS_D").filter(|d| !d.is_empty()) {
            o.certs_dir = PathBuf::from(d);
        }
        if let Some(secs) = std::env::var("WHARF_REGISTRY_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
        {
            o.timeout = Duration::from_secs_f64(secs);
        }
        o
    }

    /// Docker's rule: loopback and the configured names/CIDRs may be reached
    /// without verified TLS.
    pub fn is_insecure(&self, host: &str) -> bool {
        let name = host_without_port(host);
        if name == "localhost" {
            return true;
        }
        let ip = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.insecure.iter().any(|entry| {
            entry == host
                || entry == name
                || match (ip, parse_cidr(entry)) {
                    (Some(ip), Some((net, bits))) => in_cidr(ip, net, bits),
                    _ => false,
                }
        })
    }
}

/// `host:port` → `host`; `[::1]:5000` → `[::1]`.
pub(crate) fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map(|(h, _)| &host[..h.len() + 1])
            .unwrap_or(host);
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u32)> {
    let (ip, bits) = s.split_once('/')?;
    Some((ip.parse().ok()?, bits.parse().ok()?))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        let o = RegistryOptions {
            insecure: vec!["10.1.0.0/16".into(), "reg.example:5000".into()],
            ..Default::default()
        };
        assert!(o.is_insecure("127.0.0.1:5000"));
        assert!(o.is_insecure("127.3.4.5"));
        assert!(o.is_insecure("localhost:5000"));
        assert!(o.is_insecure("[::1]:5000"));
        assert!(o.is_insecure("10.1.2.3:5000"));
        assert!(o.is_insecure("reg.example:5000"));
        assert!(!o.is_insecure("reg.example"));
        assert!(!o.is_insecure("10.2.0.1"));
        assert!(!o.is_insecure("docker.io"));
    }
}

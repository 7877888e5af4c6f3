//! `docker port`, and the PORTS column of `ps` (docker's DisplayablePorts).

use std::process::ExitCode;

use wharf_engine::containers::PortView;
use wharf_engine::Engine;

use crate::cli::PortArgs;
use crate::exit::fail_with;

/// A host address as docker prints it before `:port` (`[::]`).
fn bracketed(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// docker's `ps` rendering: consecutive ports grouped into ranges,
/// remapped ones (host port ≠ container port) listed after.
pub fn displayable(ports: &[PortView]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|a, b| {
        (a.private, a.public, &a.proto, &a.ip).cmp(&(b.private, b.public, &b.proto, &b.ip))
    });
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut remapped = Vec::new();
    let mut result = Vec::new();
    for p in &ports {
        let key = match &p.ip {
            Some(ip) => {
                if p.public != Some(p.private) {
                    remapped.push(format!(
                        "{}:{}->{}/{}",
                        bracketed(ip),
                        p.public.unwrap_or(0),
                        p.private,
                        p.proto
                    ));
                    continue;
                }
                format!("{}/{}", bracketed(ip), p.proto)
            }
            None => p.proto.clone(),
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            None => groups.push((key, p.private, p.private)),
            Some(g) if p.private == g.2 + 1 => g.2 = p.private,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                *g = (key, p.private, p.private);
            }
        }
    }
    result.extend(groups.iter().map(|g| form_group(&g.0, g.1, g.2)));
    result.extend(remapped);
    result.join(", ")
}

fn form_group(key: &str, first: u16, last: u16) -> String {
    let range = if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    };
    match key.split_once('/') {
        Some((ip, proto)) => format!("{ip}:{range}->{range}/{proto}"),
        None => format!("{range}/{key}"),
    }
}

/// `docker port CONTAINER [PRIVATE_PORT[/PROTO]]`.
pub fn port(engine: &Engine, a: PortArgs) -> anyhow::Result<ExitCode> {
    let c = engine.find_container(&a.container)?;
    let mut published: Vec<PortView> = engine
        .container_ports(&c)?
        .into_iter()
        .filter(|p| p.public.is_some())
        .collect();
    published.sort_by(|a, b| (a.private, &a.proto, a.public).cmp(&(b.private, &b.proto, b.public)));
    let addr = |p: &PortView| {
        format!(
            "{}:{}",
            bracketed(&p.ip.clone().unwrap_or_default()),
            p.public.unwrap_or(0)
        )
    };
    match a.port {
        None => {
            for p in &published {
                println!("{}/{} -> {}", p.private, p.proto, addr(p));
            }
        }
        Some(spec) => {
            let (port, proto) = spec.split_once('/').unwrap_or((spec.as_str(), "tcp"));
            let matching: Vec<_> = published
                .iter()
                .filter(|p| p.private.to_string() == port && p.proto == proto)
                .collect();
            if matching.is_empty() {
                return Err(fail_with(
                    format!(
                        "No public port '{port}/{proto}' published for {}",
                        a.container
                    ),
                    1,
                ));
            }
            for p in matching {
                println!("{}", addr(p));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ip: Option<&str>, private: u16, public: Option<u16>, proto: &str) -> PortView {
        PortView {
            ip: ip.map(str::to_string),
            private,
            public,
            proto: proto.into(),
        }
    }

    #[test]
    fn ports_render_like_docker() {
        let ports = [
            p(Some("0.0.0.0"), 80, Some(8080), "tcp"),
            p(None, 443, None, "tcp"),
            p(Some("0.0.0.0"), 9000, Some(9000), "tcp"),
            p(Some("0.0.0.0"), 9001, Some(9001), "tcp"),
            p(Some("127.0.0.1"), 53, Some(5353), "udp"),
        ];
        assert_eq!(
            displayable(&ports),
            "443/tcp, 0.0.0.0:9000-9001->9000-9001/tcp, 127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp"
        );
    }
}

//! Docker's bridge driver options (`-o com.docker.network.…`): checked at
//! `network create` with docker's messages, read when a container attaches.

use std::collections::BTreeMap;
use std::net::IpAddr;

use wharf_store::networks::NetworkRecord;

use crate::{NetResult, NetworkError};

pub const MTU: &str = "com.docker.network.driver.mtu";
pub const MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
pub const ICC: &str = "com.docker.network.bridge.enable_icc";
pub const HOST_BINDING: &str = "com.docker.network.bridge.host_binding_ipv4";

/// What a bridge network's options ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeOptions {
    /// The bridge's and its veths' MTU (the kernel's default if unset).
    pub mtu: Option<u32>,
    /// Outbound traffic masqueraded (the default).
    pub masquerade: bool,
    /// Containers reach each other on the bridge (the default); without
    /// it their ports are isolated bridge ports.
    pub icc: bool,
    /// The host address of ports published without one.
    pub host_binding: Option<IpAddr>,
}

impl Default for BridgeOptions {
    fn default() -> BridgeOptions {
        BridgeOptions {
            mtu: None,
            masquerade: true,
            icc: true,
            host_binding: None,
        }
    }
}

fn failed(key: &str, value: &str, why: String) -> NetworkError {
    NetworkError::Invalid(format!("failed to parse {key} value: {value} ({why})"))
}

/// Go's `strconv.ParseBool`, as docker parses these options.
fn parse_bool(key: &str, value: &str) -> NetResult<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        v => Err(failed(
            key,
            v,
            format!("strconv.ParseBool: parsing \"{v}\": invalid syntax"),
        )),
    }
}

/// Check and read the options (unknown keys are the driver's business
/// and ignored, as docker does).
pub fn parse(options: &BTreeMap<String, String>) -> NetResult<BridgeOptions> {
    let mut out = BridgeOptions::default();
    if let Some(v) = options.get(MTU) {
        let mtu: u32 = v.parse().map_err(|_| {
            failed(
                MTU,
                v,
                format!("strconv.Atoi: parsing \"{v}\": invalid syntax"),
            )
        })?;
        // 0 is docker's "the default".
        out.mtu = (mtu != 0).then_some(mtu);
    }
    if let Some(v) = options.get(MASQUERADE) {
        out.masquerade = parse_bool(MASQUERADE, v)?;
    }
    if let Some(v) = options.get(ICC) {
        out.icc = parse_bool(ICC, v)?;
    }
    if let Some(v) = options.get(HOST_BINDING) {
        let ip: IpAddr = v
            .parse()
            .map_err(|_| failed(HOST_BINDING, v, "nil ip".into()))?;
        out.host_binding = (!ip.is_unspecified()).then_some(ip);
    }
    Ok(out)
}

/// A network's options as they were checked at create.
pub fn of(net: &NetworkRecord) -> BridgeOptions {
    let options: BTreeMap<String, String> = serde_json::from_str(&net.options).unwrap_or_default();
    parse(&options).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_like_docker() {
        let opts = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let o = parse(&opts(&[
            (MTU, "1400"),
            (ICC, "false"),
            (HOST_BINDING, "127.0.0.1"),
        ]))
        .unwrap();
        assert_eq!(o.mtu, Some(1400));
        assert!(!o.icc && o.masquerade);
        assert_eq!(o.host_binding, Some("127.0.0.1".parse().unwrap()));
        let err = parse(&opts(&[(MTU, "abc")])).unwrap_err().to_string();
        assert_eq!(err, "failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing \"abc\": invalid syntax)");
        let err = parse(&opts(&[(ICC, "maybe")])).unwrap_err().to_string();
        assert!(
            err.ends_with("(strconv.ParseBool: parsing \"maybe\": invalid syntax)"),
            "{err}"
        );
        let err = parse(&opts(&[(HOST_BINDING, "nope")]))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("value: nope (nil ip)"), "{err}");
        assert_eq!(
            parse(&opts(&[(HOST_BINDING, "0.0.0.0")]))
                .unwrap()
                .host_binding,
            None
        );
    }
}

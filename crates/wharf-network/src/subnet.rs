//! IP prefixes: IPv4 (`172.18.0.0/16`) and IPv6 (`fd00:1::/64`):
//! parsing, overlap, host addresses.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::NetworkError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet {
    /// The network address (host bits zero).
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Subnet {
        let mask = mask(prefix);
        Subnet {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        }
    }

    pub fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask(self.prefix))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The last address (broadcast).
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.prefix))
    }

    /// The `n`th address of the prefix (0 = the network address).
    pub fn nth(&self, n: u32) -> Option<Ipv4Addr> {
        let size = 1u64 << (32 - self.prefix as u32);
        (u64::from(n) < size).then(|| Ipv4Addr::from(u32::from(self.addr) + n))
    }

    /// Usable host addresses: not the network or broadcast address.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u32::from(self.addr);
        let last = u32::from(self.last());
        let (lo, hi) = if self.prefix >= 31 {
            (first, last)
        } else {
            (first + 1, last - 1)
        };
        (lo..=hi).map(Ipv4Addr::from)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix as u32)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `addr/prefix` of either family, `make` building the prefix; host bits
/// must be zero, as docker requires.
fn parse_cidr<A, N>(
    s: &str,
    max: u8,
    make: fn(A, u8) -> N,
    addr_of: fn(&N) -> A,
) -> Result<N, NetworkError>
where
    A: FromStr + PartialEq + Copy,
    N: fmt::Display,
{
    let bad = || NetworkError::Invalid(format!("invalid CIDR address: {s}"));
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr: A = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if prefix > max {
        return Err(bad());
    }
    let net = make(addr, prefix);
    if addr_of(&net) != addr {
        return Err(NetworkError::Invalid(format!(
            "invalid subnet {s}: it should be {net}"
        )));
    }
    Ok(net)
}

impl FromStr for Subnet {
    type Err = NetworkError;
    /// `a.b.c.d/n`.
    fn from_str(s: &str) -> Result<Subnet, NetworkError> {
        parse_cidr(s, 32, Subnet::new, |n| n.addr)
    }
}

/// An IPv6 prefix (`fd00:1::/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subnet6 {
    /// The network address (host bits zero).
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix as u32)
    }
}

impl Subnet6 {
    pub fn new(addr: Ipv6Addr, prefix: u8) -> Subnet6 {
        Subnet6 {
            addr: Ipv6Addr::from(u128::from(addr) & mask6(prefix)),
            prefix,
        }
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask6(self.prefix) == u128::from(self.addr)
    }

    pub fn overlaps(&self, other: &Subnet6) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The `n`th address of the prefix (0 = the network address).
    pub fn nth(&self, n: u128) -> Option<Ipv6Addr> {
        let fits = self.prefix == 0 || n >> (128 - self.prefix as u32) == 0;
        fits.then(|| Ipv6Addr::from(u128::from(self.addr) | n))
    }
}

impl fmt::Display for Subnet6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Subnet6 {
    type Err = NetworkError;
    /// `fd00:1::/64`.
    fn from_str(s: &str) -> Result<Subnet6, NetworkError> {
        parse_cidr(s, 128, Subnet6::new, |n| n.addr)
    }
}

/// A prefix of either family (the host-wide registry holds both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnySubnet {
    V4(Subnet),
    V6(Subnet6),
}

impl AnySubnet {
    /// Prefixes of different families never overlap.
    pub fn overlaps(&self, other: &AnySubnet) -> bool {
        match (self, other) {
            (AnySubnet::V4(a), AnySubnet::V4(b)) => a.overlaps(b),
            (AnySubnet::V6(a), AnySubnet::V6(b)) => a.overlaps(b),
            _ => false,
        }
    }
}

impl From<Subnet> for AnySubnet {
    fn from(s: Subnet) -> AnySubnet {
        AnySubnet::V4(s)
    }
}

impl From<Subnet6> for AnySubnet {
    fn from(s: Subnet6) -> AnySubnet {
        AnySubnet::V6(s)
    }
}

impl fmt::Display for AnySubnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnySubnet::V4(s) => s.fmt(f),
            AnySubnet::V6(s) => s.fmt(f),
        }
    }
}

impl FromStr for AnySubnet {
    type Err = NetworkError;
    fn from_str(s: &str) -> Result<AnySubnet, NetworkError> {
        match s.contains(':') {
            true => s.parse().map(AnySubnet::V6),
            false => s.parse().map(AnySubnet::V4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_overlap() {
        let a: Subnet = "172.18.0.0/16".parse().unwrap();
        let b: Subnet = "172.18.5.0/24".parse().unwrap();
        let c: Subnet = "172.19.0.0/16".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert!("172.18.0.1/16".parse::<Subnet>().is_err());
        assert!("nope".parse::<Subnet>().is_err());
        assert_eq!(a.last(), Ipv4Addr::new(172, 18, 255, 255));
        assert_eq!(a.hosts().next(), Some(Ipv4Addr::new(172, 18, 0, 1)));
        assert_eq!(a.nth(2), Some(Ipv4Addr::new(172, 18, 0, 2)));
        assert_eq!(a.mask(), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(b.to_string(), "172.18.5.0/24");
    }

    #[test]
    fn ipv6_prefixes() {
        let a: Subnet6 = "fd00:1::/64".parse().unwrap();
        let b: Subnet6 = "fd00:1::/80".parse().unwrap();
        let c: Subnet6 = "fd00:2::/64".parse().unwrap();
        assert!(a.overlaps(&b) && !a.overlaps(&c));
        assert!("fd00:1::1/64".parse::<Subnet6>().is_err());
        assert_eq!(a.nth(2), Some("fd00:1::2".parse().unwrap()));
        assert_eq!(a.to_string(), "fd00:1::/64");
        let any: AnySubnet = "fd00:1::/64".parse().unwrap();
        assert!(!any.overlaps(&AnySubnet::V4("10.0.0.0/8".parse().unwrap())));
    }
}

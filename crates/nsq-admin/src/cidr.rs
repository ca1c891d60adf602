//! `--allow-config-from-cidr`: Go's `net.ParseCIDR` and `IPNet.Contains`.
//!
//! `/config/:opt` can rewire nsqadmin at runtime, so only peers inside one CIDR may use it.
//! The check must accept and reject exactly the addresses the reference does, including
//! IPv4 peers that reach a dual-stack listener as IPv4-mapped IPv6 addresses.

use std::net::IpAddr;

/// A CIDR string that Go's `net.ParseCIDR` rejects; displays as Go's error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR address: {0}")]
pub struct CidrError(pub String);

/// A parsed network: the address masked to `prefix` bits.
///
/// Invariant: `prefix` ≤ 32 for IPv4 and ≤ 128 for IPv6, and the host bits of `network`
/// are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

fn mask_v4(bits: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(prefix)))
    }
}

fn mask_v6(bits: u128, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(prefix)))
    }
}

impl Cidr {
    /// Parses `addr/prefix` like Go (`127.0.0.1/8`, `::1/128`); the prefix is decimal
    /// without sign or leading `+`.
    pub fn parse(s: &str) -> Result<Cidr, CidrError> {
        let err = || CidrError(s.to_string());
        let (ip, bits) = s.split_once('/').ok_or_else(err)?;
        if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let prefix: u8 = bits.parse().map_err(|_| err())?;
        // Go accepts no zone and no brackets here.
        let ip: IpAddr = ip.parse().map_err(|_| err())?;
        match ip {
            IpAddr::V4(v4) if prefix <= 32 => Ok(Cidr {
                network: IpAddr::V4(mask_v4(u32::from(v4), prefix).into()),
                prefix,
            }),
            IpAddr::V6(v6) if prefix <= 128 => Ok(Cidr {
                network: IpAddr::V6(mask_v6(u128::from(v6), prefix).into()),
                prefix,
            }),
            _ => Err(err()),
        }
    }

    /// Whether `ip` is inside the network. An IPv4-mapped IPv6 address counts as its IPv4
    /// address for an IPv4 network, and an IPv4 address as its mapped form for an IPv6
    /// network, as in Go.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self.network {
            IpAddr::V4(net) => {
                let v4 = match ip {
                    IpAddr::V4(v4) => v4,
                    IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                        Some(v4) => v4,
                        None => return false,
                    },
                };
                mask_v4(u32::from(v4), self.prefix) == u32::from(net)
            }
            IpAddr::V6(net) => {
                let v6 = match ip {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    IpAddr::V6(v6) => v6,
                };
                mask_v6(u128::from(v6), self.prefix) == u128::from(net)
            }
        }
    }
}

/// The IP of a Go-style `ip:port` / `[ip]:port` peer string, or `None` if it is not one
/// (the caller answers 400 `INVALID_REMOTE_ADDR`).
pub fn peer_ip(remote: &str) -> Option<IpAddr> {
    let (host, _) = nsq_http::listen::split_host_port(remote).ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_contains() {
        let c = Cidr::parse("127.0.0.1/8").unwrap();
        assert!(c.contains(ip("127.9.9.9")));
        assert!(c.contains(ip("::ffff:127.0.0.1")));
        assert!(!c.contains(ip("10.0.0.1")));
        assert!(!c.contains(ip("::1")));
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(!c.contains(ip("127.0.0.1")));
        let all6 = Cidr::parse("::/0").unwrap();
        assert!(all6.contains(ip("127.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("1.2.3.4")));
        assert!(Cidr::parse("::1/128").unwrap().contains(ip("::1")));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "bogus",
            "127.0.0.1",
            "127.0.0.1/33",
            "1.2.3.4/-1",
            "1.2.3.4/+8",
            "/8",
            "::1/129",
            "1.2.3.4/",
        ] {
            assert_eq!(
                Cidr::parse(bad).unwrap_err().to_string(),
                format!("invalid CIDR address: {bad}")
            );
        }
    }

    #[test]
    fn peers() {
        assert_eq!(peer_ip("127.0.0.1:5"), Some(ip("127.0.0.1")));
        assert_eq!(peer_ip("[::1]:5"), Some(ip("::1")));
        assert_eq!(peer_ip("@"), None);
    }
}

//! What a per-address limit counts as one client. An IPv4 address is one client; an IPv6
//! client is usually given a whole /64 (or more) by its provider, so counting each IPv6 address
//! alone would let one household be billions of clients. Also the networks trusted as proxies.

use std::net::{IpAddr, Ipv6Addr};

/// An address or a network of them (`172.16.0.0/12`, `fd00::/8`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    bits: u8,
}

impl Network {
    /// `address` or `address/bits`.
    pub fn parse(text: &str) -> Result<Network, String> {
        let bad = || format!("{text:?} is not an IP address or a network such as 172.16.0.0/12");
        let (address, bits) = match text.split_once('/') {
            Some((address, bits)) => (address, Some(bits.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let base: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        if bits > max {
            return Err(bad());
        }
        Ok(Network { base, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip.to_canonical()) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.bits)).unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The key of `ip` in per-address limits: the IPv4 address itself (also when written as an
/// IPv4-mapped IPv6 address), or the IPv6 network of `ipv6_prefix` bits that holds it, written
/// as `2001:db8:1:2::/64`. A prefix of 128 (or more) counts each IPv6 address alone.
pub fn client_network(ip: IpAddr, ipv6_prefix: u8) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let bits = u32::from(ipv6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            format!("{}/{bits}", Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{client_network, Network};

    #[test]
    fn trusted_networks_hold_their_addresses_and_no_others() {
        let net = |t: &str| Network::parse(t).unwrap();
        let ip = |t: &str| t.parse().unwrap();
        assert!(net("172.16.0.0/12").contains(ip("172.31.255.1")));
        assert!(!net("172.16.0.0/12").contains(ip("172.32.0.1")));
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")) && !net("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")), "IPv4 written as IPv6");
        assert!(net("fd00::/8").contains(ip("fd12::1")) && !net("fd00::/8").contains(ip("fe80::1")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")) && !net("0.0.0.0/0").contains(ip("::1")));
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/x", "example.com"] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    fn key(ip: &str, prefix: u8) -> String {
        client_network(ip.parse().unwrap(), prefix)
    }

    #[test]
    fn ipv6_addresses_count_by_their_network_and_ipv4_by_the_address() {
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff", 64), key("2001:db8:1:2::", 64));
        assert_ne!(key("2001:db8:1:3::1", 64), key("2001:db8:1:2::1", 64));
        assert_eq!(key("2001:db8:1:2::1", 48), "2001:db8:1::/48");
        assert_eq!(key("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(key("2001:db8::1", 0), "::/0");
        assert_eq!(key("203.0.113.9", 64), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9", 64), "203.0.113.9");
    }
}

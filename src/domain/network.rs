//! What a per-address limit counts as one client. An IPv4 address is one client; an IPv6
//! client is usually given a whole /64 (or more) by its provider, so counting each IPv6 address
//! alone would let one household be billions of clients.

use std::net::{IpAddr, Ipv6Addr};

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
    use super::client_network;

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

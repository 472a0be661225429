//! Who is on the other end of a request: the client's address (for logs) and the key that
//! every per-address limit counts it under.

use super::State;
use crate::domain::Network;
use actix_web::HttpRequest;

/// The key of the caller in every per-address limit: its IPv4 address, or its IPv6 network
/// (`ipv6_limit_prefix` bits, a /64 by default). Every per-IP limiter takes its key from here.
pub(super) fn limit_key(req: &HttpRequest) -> String {
    let Some(ip) = client_addr(req) else { return "unknown".into() };
    let prefix = req.app_data::<State>().map_or(64, |s| s.config.ipv6_limit_prefix);
    crate::domain::client_network(ip, prefix)
}

/// The client's address as text, for logs.
pub(super) fn client_ip(req: &HttpRequest) -> String {
    client_addr(req).map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// The client's address: the peer's, or, when the peer is a trusted reverse proxy, the last
/// address in `X-Forwarded-For` that is not one of the trusted proxies (what came before it
/// the client could have written itself).
fn client_addr(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req.app_data::<State>().map(|s| s.config.trusted_proxies.as_slice()).unwrap_or_default();
    Some(forwarded_client(peer, trusted, req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok())))
}

fn forwarded_client<'a>(
    peer: std::net::IpAddr,
    trusted: &[Network],
    forwarded_for: impl Iterator<Item = &'a str>,
) -> std::net::IpAddr {
    let trusted = |ip: std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse() {
            Ok(ip) if trusted(ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod forwarded_tests {
    use super::forwarded_client;
    use crate::domain::Network;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
        let trusted = [Network::parse("127.0.0.1").unwrap(), Network::parse("10.0.0.0/24").unwrap()];
        let from = |peer: &str, header: &[&str]| forwarded_client(ip(peer), &trusted, header.iter().copied());
        // Straight from the internet: the header is the client's own word, ignored.
        assert_eq!(from("203.0.113.9", &["198.51.100.1"]), ip("203.0.113.9"));
        // Through the proxy: the address it saw.
        assert_eq!(from("127.0.0.1", &["198.51.100.1"]), ip("198.51.100.1"));
        // A client that sends its own header cannot choose its address: the proxy appends.
        assert_eq!(from("127.0.0.1", &["6.6.6.6, 198.51.100.1"]), ip("198.51.100.1"));
        // Through two trusted proxies, and split over two header lines.
        assert_eq!(from("127.0.0.1", &["198.51.100.1, 10.0.0.2"]), ip("198.51.100.1"));
        assert_eq!(from("127.0.0.1", &["198.51.100.1", "10.0.0.2"]), ip("198.51.100.1"));
        // No header, or garbage: the peer (or the last trusted hop).
        assert_eq!(from("127.0.0.1", &[]), ip("127.0.0.1"));
        assert_eq!(from("127.0.0.1", &["not-an-ip"]), ip("127.0.0.1"));
        assert_eq!(from("127.0.0.1", &["nonsense, 10.0.0.2"]), ip("10.0.0.2"));
    }
}

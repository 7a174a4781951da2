//! The client's address behind reverse proxies. The sign-in rate limit counts attempts per
//! address: behind a proxy every request comes from the proxy, so one attacker would spend
//! everyone's budget. With `CRM_TRUSTED_PROXIES`, a request from a trusted proxy is counted
//! against the address it forwarded for: the right-most address of `X-Forwarded-For` that is
//! not itself a trusted proxy (the left-most entries are the client's to write, and are never
//! believed).

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// Addresses or networks (`10.0.0.0/8`, `::1`) of the proxies in front of the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        let (net, ip, bits) = match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => (
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                32,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => (u128::from(net), u128::from(ip), 128),
            _ => return false,
        };
        let prefix = u32::from(self.prefix.min(bits));
        let mask = if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix)
        };
        net & mask == ip & mask
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses and networks; empty: no proxy is trusted.
    fn from_str(list: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for item in list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let (address, prefix) = match item.split_once('/') {
                Some((address, prefix)) => (address, Some(prefix)),
                None => (item, None),
            };
            let address = IpAddr::from_str(address)
                .map_err(|_| format!("`{item}` is not an IP address or network"))?
                .to_canonical();
            let bits = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(prefix) => prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|prefix| *prefix <= bits)
                    .ok_or_else(|| format!("`{item}` has a bad network prefix"))?,
                None => bits,
            };
            networks.push(Network { address, prefix });
        }
        Ok(TrustedProxies(networks))
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The address a request comes from: `peer` (the TCP connection's), or, when `peer` is a
    /// trusted proxy, the right-most address of `X-Forwarded-For` not trusted as a proxy.
    pub fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        // Several headers are one list, in order.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            match IpAddr::from_str(hop.trim()) {
                Ok(ip) if self.trusts(ip) => client = ip,
                Ok(ip) => return Some(ip.to_canonical()),
                // A hop the proxies did not write in a form we read: stop at the last known.
                Err(_) => break,
            }
        }
        Some(client)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_only_for_what_it_wrote() {
        let proxies: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        // From the proxy: the right-most untrusted hop; what the client wrote before is ignored.
        let headers = forwarded("6.6.6.6, 203.0.113.7, 10.1.2.3");
        assert_eq!(
            proxies.client_address(ip("10.0.0.1"), &headers),
            ip("203.0.113.7")
        );
        assert_eq!(
            proxies.client_address(ip("::1"), &forwarded("198.51.100.1")),
            ip("198.51.100.1")
        );
        // Not from a proxy: the header is the client's own and means nothing.
        assert_eq!(
            proxies.client_address(ip("203.0.113.9"), &headers),
            ip("203.0.113.9")
        );
        // From the proxy without the header, or with garbage: the proxy itself.
        assert_eq!(
            proxies.client_address(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.1"), &forwarded("junk")),
            ip("10.0.0.1")
        );
        // IPv4-mapped IPv6 peers are their IPv4 address.
        assert_eq!(
            proxies.client_address(ip("::ffff:10.0.0.1"), &forwarded("203.0.113.7")),
            ip("203.0.113.7")
        );
        // No proxy trusted: always the peer.
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("10.0.0.1"), &headers),
            ip("10.0.0.1")
        );
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.internal".parse::<TrustedProxies>().is_err());
    }
}

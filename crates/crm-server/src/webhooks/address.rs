//! Where deliveries may go: never to the server's own network (loopback, private, link-local
//! and other internal ranges, such as a cloud's metadata address) unless an operator allows it
//! (`CRM_WEBHOOK_ALLOWED_HOSTS`), never to what they deny (`CRM_WEBHOOK_DENIED_HOSTS`).
//!
//! The check is made on the addresses a name resolves to, when connecting: the client resolves
//! through [`GuardedResolver`], which hands it only permitted addresses, so a name that
//! resolves elsewhere between the check and the connection (DNS rebinding) cannot get through.
//! Addresses written in the URL are checked before sending. Redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Names and networks, from a comma-separated setting: `host.example.com`, `*.example.com`
/// (the domain's subdomains), `10.1.2.3`, `10.0.0.0/8`, `[::1]`, `fd00::/8`.
#[derive(Debug, Clone, Default)]
struct HostList {
    names: Vec<String>,
    suffixes: Vec<String>,
    nets: Vec<IpNet>,
}

impl HostList {
    fn parse(setting: &str, entries: &[String]) -> Result<HostList, String> {
        let mut list = HostList::default();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let bare = entry.trim_start_matches('[').trim_end_matches(']');
            if let Ok(net) = bare.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = bare.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if let Some(domain) = entry.strip_prefix("*.") {
                list.suffixes.push(format!(".{}", normal_name(domain)));
            } else if entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                list.names.push(normal_name(entry));
            } else {
                return Err(format!(
                    "{setting}: `{entry}` is not a host name, an address or a network"
                ));
            }
        }
        Ok(list)
    }

    fn has_name(&self, host: &str) -> bool {
        let host = normal_name(host);
        self.names.contains(&host) || self.suffixes.iter().any(|s| host.ends_with(s.as_str()))
    }

    fn has_address(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

/// The operator's rules on delivery addresses.
#[derive(Debug, Clone, Default)]
pub struct AddressRules {
    allowed: HostList,
    denied: HostList,
}

impl AddressRules {
    /// The rules of `CRM_WEBHOOK_ALLOWED_HOSTS` and `CRM_WEBHOOK_DENIED_HOSTS`.
    pub fn parse(allowed: &[String], denied: &[String]) -> Result<AddressRules, String> {
        Ok(AddressRules {
            allowed: HostList::parse("CRM_WEBHOOK_ALLOWED_HOSTS", allowed)?,
            denied: HostList::parse("CRM_WEBHOOK_DENIED_HOSTS", denied)?,
        })
    }

    /// Whether the host is named in the allowed list.
    pub fn allows_name(&self, host: &str) -> bool {
        self.allowed.has_name(host)
    }

    /// Whether the address is in the allowed list.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        self.allowed.has_address(canonical(ip))
    }

    /// Why a delivery to `host` may not be made, before resolving it: the name is denied.
    pub fn check_name(&self, host: &str) -> Result<(), String> {
        if self.denied.has_name(host) {
            return Err(format!("{host} is in CRM_WEBHOOK_DENIED_HOSTS"));
        }
        Ok(())
    }

    /// Why a delivery to `ip` (which `host` names) may not be made, if it may not.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        let ip = canonical(ip);
        if self.denied.has_name(host) || self.denied.has_address(ip) {
            return Err(format!("{ip} is in CRM_WEBHOOK_DENIED_HOSTS"));
        }
        if self.allowed.has_name(host) || self.allowed.has_address(ip) {
            return Ok(());
        }
        if let Some(range) = internal_range(ip) {
            return Err(format!(
                "{ip} is a {range} address (allow it with CRM_WEBHOOK_ALLOWED_HOSTS)"
            ));
        }
        Ok(())
    }
}

/// A host name as compared: lower case, without the root's trailing dot (`evil.example.` is
/// `evil.example`).
fn normal_name(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl AddressRules {
    /// The addresses `host` resolved to that deliveries may reach; why none may, when none.
    pub fn permitted(
        &self,
        host: &str,
        found: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, String> {
        let mut refused = None;
        let permitted: Vec<SocketAddr> = found
            .into_iter()
            .filter(|address| match self.check_address(host, address.ip()) {
                Ok(()) => true,
                Err(why) => {
                    refused.get_or_insert(why);
                    false
                }
            })
            .collect();
        if permitted.is_empty() {
            return Err(match refused {
                Some(why) => {
                    format!("{host} resolves only to addresses deliveries may not reach: {why}")
                }
                None => format!("{host} has no address"),
            });
        }
        Ok(permitted)
    }
}

/// An IPv4 address carried in an IPv6 one is that IPv4 address: mapped (`::ffff:10.0.0.1`),
/// compatible (`::10.0.0.1`), NAT64's well-known prefix (`64:ff9b::10.0.0.1`), 6to4
/// (`2002:0a00:0001::`): each reaches the IPv4 address through a translator.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return IpAddr::V4(mapped);
    }
    let v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d))
    };
    match v6.segments() {
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] | [0x2002, high, low, ..] => v4(high, low),
        // `::` and `::1` are IPv6's own (unspecified, loopback).
        [0, 0, 0, 0, 0, 0, high, low] if high != 0 => v4(high, low),
        _ => ip,
    }
}

/// The kind of internal address `ip` is, if it is one.
pub fn internal_range(ip: IpAddr) -> Option<&'static str> {
    /// Ranges no public endpoint has (IANA special-purpose registries).
    const RANGES: [(&str, &str); 17] = [
        ("0.0.0.0/8", "\"this network\""),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "protocol assignment"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local translation"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    ];
    let ip = canonical(ip);
    RANGES.iter().find_map(|(net, name)| {
        net.parse::<IpNet>()
            .ok()
            .filter(|net| net.contains(&ip))
            .map(|_| *name)
    })
}

/// The HTTP client's resolver: the system's, keeping only the addresses deliveries may reach.
pub struct GuardedResolver {
    pub rules: Arc<AddressRules>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.rules.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            rules.check_name(&host)?;
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let permitted = rules.permitted(&host, found)?;
            let addresses: reqwest::dns::Addrs = Box::new(permitted.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allowed: &[&str], denied: &[&str]) -> AddressRules {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let Ok(rules) = AddressRules::parse(&owned(allowed), &owned(denied)) else {
            unreachable!("bad rules");
        };
        rules
    }

    fn ip(text: &str) -> IpAddr {
        let Ok(ip) = text.parse() else {
            unreachable!("bad address {text}");
        };
        ip
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let rules = rules(&[], &[]);
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:5",
            "2002:a00:1::1",
            "::10.0.0.1",
        ] {
            assert!(
                rules.check_address("h", ip(internal)).is_err(),
                "{internal} is internal"
            );
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert_eq!(rules.check_address("h", ip(public)), Ok(()), "{public}");
        }
    }

    #[test]
    fn the_operator_allows_and_denies_names_addresses_and_networks() {
        let rules = rules(
            &[
                "127.0.0.1",
                "hooks.internal",
                "10.0.0.0/8",
                "*.corp.example",
            ],
            &["1.1.1.1", "evil.example", "203.0.113.0/24"],
        );
        assert_eq!(rules.check_address("x", ip("127.0.0.1")), Ok(()));
        assert!(rules.check_address("x", ip("127.0.0.2")).is_err());
        assert_eq!(rules.check_address("x", ip("10.9.9.9")), Ok(()));
        assert_eq!(
            rules.check_address("hooks.internal", ip("192.168.0.5")),
            Ok(())
        );
        assert_eq!(
            rules.check_address("a.corp.example", ip("192.168.0.5")),
            Ok(())
        );
        assert!(
            rules
                .check_address("corp.example.org", ip("192.168.0.5"))
                .is_err()
        );
        assert!(rules.check_address("x", ip("1.1.1.1")).is_err());
        assert!(rules.check_address("x", ip("203.0.113.9")).is_err());
        assert!(rules.check_name("EVIL.example").is_err());
        assert!(rules.check_name("evil.example.").is_err(), "the root's dot");
        assert!(
            rules
                .check_address("hooks.internal.", ip("192.168.0.5"))
                .is_ok()
        );
        assert!(AddressRules::parse(&["not a host!".to_owned()], &[]).is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_get_none() {
        use reqwest::dns::Resolve;
        let resolver = GuardedResolver {
            rules: Arc::new(rules(&[], &[])),
        };
        let Ok(name) = "localhost".parse::<reqwest::dns::Name>() else {
            unreachable!("a valid name");
        };
        let Err(err) = resolver.resolve(name).await else {
            unreachable!("localhost resolved to a permitted address");
        };
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}

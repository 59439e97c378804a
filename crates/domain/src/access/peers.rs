//! Is this connection the host the practice configured? A DICOM AE title and an HL7 sending
//! application are names a caller gives itself; the address a connection comes from is the one
//! fact about a network peer that it cannot simply claim. Configured hosts are addresses or
//! names; names are resolved through the system's resolver and the answer kept for a minute,
//! so a busy listener does not ask the resolver for every message.

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a resolved name is trusted.
const RESOLVED_FOR: Duration = Duration::from_secs(60);

/// Resolved names: when each was asked and what it stood for.
type Resolved = Mutex<HashMap<String, (Instant, Vec<IpAddr>)>>;

fn cache() -> &'static Resolved {
    static CACHE: OnceLock<Resolved> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The addresses `host` stands for (itself if it is an address; empty if it resolves to
/// nothing). May block on the resolver the first time a name is asked for.
pub fn addresses_of(host: &str) -> Vec<IpAddr> {
    let host = host.trim();
    if host.is_empty() {
        return Vec::new();
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![canonical(ip)];
    }
    if let Ok(cached) = cache().lock()
        && let Some((at, ips)) = cached.get(host)
        && at.elapsed() < RESOLVED_FOR
    {
        return ips.clone();
    }
    let ips: Vec<IpAddr> = (host, 0)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| canonical(a.ip())).collect())
        .unwrap_or_else(|e| {
            tracing::warn!(host, error = %e, "a configured host name does not resolve");
            Vec::new()
        });
    if let Ok(mut cached) = cache().lock() {
        cached.insert(host.to_string(), (Instant::now(), ips.clone()));
    }
    ips
}

/// Whether a connection from `peer` comes from the configured `host`.
pub fn host_matches(host: &str, peer: IpAddr) -> bool {
    let peer = canonical(peer);
    addresses_of(host).contains(&peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_names_match_the_peer_they_stand_for() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
        assert!(host_matches("127.0.0.1", loopback));
        assert!(host_matches(
            " 127.0.0.1 ",
            "::ffff:127.0.0.1".parse().unwrap_or(loopback)
        ));
        assert!(!host_matches("10.0.0.7", loopback));
        assert!(!host_matches("", loopback));
        assert!(host_matches("localhost", loopback));
        assert!(!host_matches("no-such-host.invalid", loopback));
    }
}

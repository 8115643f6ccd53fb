//! CoreDNS's service lookup and record building, step for step: `findServices` of the
//! `kubernetes` plugin (and `findServices` of the external `multicluster` plugin, whose
//! names carry the cluster id) turn a request into "entries" (CoreDNS's `msg.Service`: one
//! per (ClusterIP, port) or per (ready endpoint address, port)); `plugin.A`/`AAAA`/`SRV`
//! (`plugin/backend_lookup.go`) turn entries into records.
//!
//! Facts of CoreDNS reproduced here (source read for this: `plugin/backend_lookup.go`,
//! `plugin/kubernetes/kubernetes.go`, `coredns/multicluster` `multicluster.go`):
//! - SRV weight: every entry counts (duplicates and port-less endpoints included), the weight
//!   is `floor(100 / N)` computed as `100.0 / (100·N) · 100` in floating point, at least 1;
//!   priority 0;
//! - SRV records are de-duplicated by (target, port), so a Service with `42/TCP` and `42/UDP`
//!   answers one SRV record (weight 50); additionals by (target, address);
//! - A/AAAA records are de-duplicated by address;
//! - endpoints without ports take part with CoreDNS's port `-1` sentinel: they get A records,
//!   count for the weights, and get no SRV record;
//! - ExternalName entries never give SRV records (`Services` drops CNAME entries for SRV).

use std::collections::HashSet;
use std::net::IpAddr;

use super::records::{Addr, Group, Kind, PortSpec, Target};

/// What a name asks for beyond the service (CoreDNS's `recordRequest`); `None` matches all.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Request<'a> {
    /// `_PORT` of an SRV name.
    pub port: Option<&'a str>,
    /// `_PROTO` of an SRV name.
    pub proto: Option<&'a str>,
    /// The endpoint label of `LABEL.SVC.NS.svc…`.
    pub endpoint: Option<&'a str>,
    /// The cluster id of `LABEL.CLUSTER.SVC.NS.svc.clusterset.local`.
    pub cluster: Option<&'a str>,
}

/// Where an entry points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// An address (A/AAAA, SRV target with that address).
    Ip(IpAddr),
    /// A name (ExternalName: CNAME).
    Name(String),
}

/// One CoreDNS `msg.Service`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Address or alias.
    pub host: Host,
    /// The port; `None` is CoreDNS's `-1` (no ports declared).
    pub port: Option<u16>,
    /// The name the entry is known by (SRV target), without the zone.
    pub target: String,
}

/// CoreDNS's `match`: a missing request field matches everything, else case-insensitive.
fn matches(want: Option<&str>, have: &str) -> bool {
    want.is_none_or(|w| w.eq_ignore_ascii_case(have))
}

fn port_matches(r: &Request<'_>, p: Option<&PortSpec>) -> bool {
    let (name, proto) = p.map_or(("", ""), |p| (p.name.as_str(), p.proto.as_str()));
    matches(r.port, name) && matches(r.proto, proto)
}

/// The entries for `r` about service `svc.ns` (`base` = `svc.ns.svc`), and whether the name
/// exists (CoreDNS's `err == nil`: NODATA rather than NXDOMAIN when no entry matches the
/// type asked). `multicluster` selects the `multicluster` plugin's endpoint names.
pub(crate) fn entries(
    t: &Target,
    base: &str,
    r: &Request<'_>,
    multicluster: bool,
) -> (Vec<Entry>, bool) {
    let mut out = Vec::new();
    let mut found = false;
    if let Kind::Alias(to) = &t.kind {
        out.push(Entry {
            host: Host::Name(to.clone()),
            port: None,
            target: base.to_string(),
        });
        return (out, true);
    }
    if t.kind == Kind::Headless || r.endpoint.is_some() {
        for g in &t.groups {
            for a in &g.addrs {
                if !endpoint_matches(r, g, a, multicluster) {
                    continue;
                }
                let target = match (multicluster, g.cluster.is_empty()) {
                    (true, false) => format!("{}.{}.{base}", a.label, g.cluster),
                    _ => format!("{}.{base}", a.label),
                };
                let ports: Vec<Option<&PortSpec>> = match g.ports.is_empty() {
                    true => vec![None],
                    false => g.ports.iter().map(Some).collect(),
                };
                for p in ports {
                    if !port_matches(r, p) {
                        continue;
                    }
                    found = true;
                    out.push(Entry {
                        host: Host::Ip(a.ip),
                        port: p.map(|p| p.port),
                        target: target.clone(),
                    });
                }
            }
        }
        return (out, found);
    }
    if let Kind::Virtual(ips) = &t.kind {
        for p in t.ports.iter().filter(|p| port_matches(r, Some(p))) {
            found = true;
            for ip in ips {
                out.push(Entry {
                    host: Host::Ip(*ip),
                    port: Some(p.port),
                    target: base.to_string(),
                });
            }
        }
    }
    (out, found)
}

fn endpoint_matches(r: &Request<'_>, g: &Group, a: &Addr, multicluster: bool) -> bool {
    let Some(want) = r.endpoint else {
        return true;
    };
    if multicluster && !matches(r.cluster, &g.cluster) {
        return false;
    }
    want.eq_ignore_ascii_case(&a.label)
}

/// The addresses of the entries for an A (`v6` false) or AAAA query, de-duplicated.
pub(crate) fn addresses(entries: &[Entry], v6: bool) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for e in entries {
        if let Host::Ip(ip) = e.host
            && ip.is_ipv6() == v6
            && !out.contains(&ip)
        {
            out.push(ip);
        }
    }
    out
}

/// One SRV record to write, with the address of its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SrvOut {
    /// Weight (priority is always 0).
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target name without the zone.
    pub target: String,
}

/// CoreDNS's SRV weight for `n` entries of one priority.
pub(crate) fn weight(n: usize) -> u16 {
    // The same float operations as `plugin.SRV`: w[prio] = 100·n, w1 = 100/w · 100.
    let total = 100.0 * n as f64;
    let w = (100.0 / total * 100.0).floor();
    if w < 1.0 {
        1
    } else {
        w.min(f64::from(u16::MAX)) as u16
    }
}

/// The SRV records of `entries` and the additional addresses (target, ip), as `plugin.SRV`.
pub(crate) fn srv(entries: &[Entry]) -> (Vec<SrvOut>, Vec<(String, IpAddr)>) {
    let ips: Vec<&Entry> = entries
        .iter()
        .filter(|e| matches!(e.host, Host::Ip(_)))
        .collect();
    let weight = weight(ips.len());
    let (mut records, mut extra) = (Vec::new(), Vec::new());
    let mut seen_srv: HashSet<(&str, u16)> = HashSet::new();
    let mut seen_addr: HashSet<(&str, IpAddr)> = HashSet::new();
    for e in ips {
        let (Some(port), Host::Ip(ip)) = (e.port, &e.host) else {
            continue;
        };
        if seen_srv.insert((e.target.as_str(), port)) {
            records.push(SrvOut {
                weight,
                port,
                target: e.target.clone(),
            });
        }
        if seen_addr.insert((e.target.as_str(), *ip)) {
            extra.push((e.target.clone(), *ip));
        }
    }
    (records, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_coredns_floor_of_100_over_n_at_least_1() {
        let got: Vec<u16> = [1, 2, 3, 4, 7, 100, 101, 120]
            .into_iter()
            .map(weight)
            .collect();
        assert_eq!(got, vec![100, 50, 33, 25, 14, 1, 1, 1]);
    }

    #[test]
    fn srv_drops_duplicate_target_ports_but_counts_them_for_the_weight() {
        let e = |port: Option<u16>, ip: &str| Entry {
            host: Host::Ip(ip.parse().unwrap()),
            port,
            target: "hello.ns.svc".into(),
        };
        // 42/TCP and 42/UDP on one VIP, plus a port-less entry.
        let entries = [
            e(Some(42), "10.0.0.1"),
            e(Some(42), "10.0.0.1"),
            e(None, "10.0.0.1"),
        ];
        let (records, extra) = srv(&entries);
        assert_eq!(
            records,
            vec![SrvOut {
                weight: 33,
                port: 42,
                target: "hello.ns.svc".into()
            }]
        );
        assert_eq!(extra.len(), 1);
    }
}

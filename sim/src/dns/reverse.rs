//! Reverse lookups, as the `kubernetes` plugin's `Reverse` (`plugin/kubernetes/reverse.go`)
//! answers them for `in-addr.arpa` and `ip6.arpa`:
//! - an IP that is a Service's ClusterIP → `SVC.NS.svc.cluster.local` (the first Service);
//! - else every ready endpoint address with that IP → `LABEL.SVC.NS.svc.cluster.local`
//!   (LABEL: hostname or dashed IP), one PTR per `Endpoints` object holding it;
//! - else NXDOMAIN inside the plugin, which the kubeadm Corefile's `fallthrough in-addr.arpa
//!   ip6.arpa` hands to the next plugin — `forward`, absent here: SERVFAIL. Other types in
//!   the reverse zones take the same way. (A pod that backs no Service has no PTR record in
//!   CoreDNS either.)
//!
//! ClusterSetIPs have PTR records through the Service that carries them (GKE's
//! `gke-mcs-…` Services; KEP-1645 DNS spec §2.3.3 "Limitations": an IP that already has a
//! PTR record needs no other).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::PTR;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde_json::Value;

use super::answer::{Answer, fqdn};
use super::records::{service_ips, subsets};
use crate::cluster::Cluster;
use crate::store::{Meta, ResKey};

/// The address a reverse name (lowercase labels) stands for, `None` when the name is not a
/// complete `in-addr.arpa`/`ip6.arpa` name. Partial reverse names are "no address" too:
/// CoreDNS answers them like any miss in the reverse zones.
pub(super) fn address_of(labels: &[&str]) -> Option<ReverseName> {
    match labels {
        [rest @ .., "in-addr", "arpa"] => Some(ReverseName(v4(rest))),
        [rest @ .., "ip6", "arpa"] => Some(ReverseName(v6(rest))),
        _ => None,
    }
}

/// A name in one of the reverse zones, with its address when complete.
pub(super) struct ReverseName(Option<IpAddr>);

fn v4(rest: &[&str]) -> Option<IpAddr> {
    let [d, c, b, a] = rest else { return None };
    let octet = |s: &str| s.parse::<u8>().ok().filter(|_| !s.starts_with('+'));
    Some(IpAddr::V4(Ipv4Addr::new(
        octet(a)?,
        octet(b)?,
        octet(c)?,
        octet(d)?,
    )))
}

fn v6(rest: &[&str]) -> Option<IpAddr> {
    if rest.len() != 32 {
        return None;
    }
    let mut bits: u128 = 0;
    for nibble in rest.iter().rev() {
        let [c] = nibble.as_bytes() else { return None };
        let digit = char::from(*c).to_digit(16)?;
        bits = (bits << 4) | u128::from(digit);
    }
    Some(IpAddr::V6(Ipv6Addr::from(bits)))
}

/// Answers a question about a reverse name.
pub(super) fn answer(
    cluster: &Cluster,
    owner: &Name,
    name: ReverseName,
    qtype: RecordType,
    ttl: u32,
) -> Answer {
    let servfail = Answer::rcode(ResponseCode::ServFail, false);
    let (Some(ip), RecordType::PTR) = (name.0, qtype) else {
        return servfail;
    };
    let names = ptr_names(cluster, ip);
    if names.is_empty() {
        return servfail;
    }
    let mut a = Answer::rcode(ResponseCode::NoError, true);
    let mut seen = Vec::new();
    for n in names {
        if seen.contains(&n) {
            continue;
        }
        if let Some(target) = fqdn(&n) {
            a.answers.push(Record::from_rdata(
                owner.clone(),
                ttl,
                RData::PTR(PTR(target)),
            ));
        }
        seen.push(n);
    }
    a
}

/// The names `ip` reverses to (without the trailing dot).
fn ptr_names(cluster: &Cluster, ip: IpAddr) -> Vec<String> {
    let all = |_: &Value| true;
    let services = cluster
        .store
        .list(&ResKey::new("", "services"), None, None, 0, &all);
    for svc in &services.items {
        if service_ips(&svc["spec"]).contains(&ip) {
            let m = Meta(svc);
            return vec![format!("{}.{}.svc.cluster.local", m.name(), m.namespace())];
        }
    }
    let endpoints = cluster
        .store
        .list(&ResKey::new("", "endpoints"), None, None, 0, &all);
    let mut out = Vec::new();
    for ep in &endpoints.items {
        let m = Meta(ep);
        for group in subsets(ep) {
            for addr in group.addrs.iter().filter(|a| a.ip == ip) {
                out.push(format!(
                    "{}.{}.{}.svc.cluster.local",
                    addr.label,
                    m.name(),
                    m.namespace()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> Option<IpAddr> {
        let labels: Vec<&str> = name.split('.').collect();
        address_of(&labels)?.0
    }

    #[test]
    fn reverse_names_parse_to_addresses() {
        assert_eq!(parse("1.0.96.10.in-addr.arpa"), "10.96.0.1".parse().ok());
        let six = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
        assert_eq!(parse(six), "2001:db8::1".parse().ok());
        assert_eq!(parse("0.96.10.in-addr.arpa"), None);
        assert_eq!(parse("256.0.96.10.in-addr.arpa"), None);
        assert!(address_of(&["example", "com"]).is_none());
    }
}

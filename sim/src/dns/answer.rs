//! The record logic: one question (name, type) → the response code and the answer,
//! authority and additional sections, computed from the live store. No sockets here.
//!
//! Names served (case-insensitive), in both zones:
//! - `SVC.NS.svc.<zone>`: A/AAAA (VIPs, or ready endpoint IPs when headless), CNAME for an
//!   ExternalName Service (chased when the target is in our zones), SRV for every port;
//! - `_PORT._PROTO.SVC.NS.svc.<zone>`: SRV for that named port;
//! - `LABEL.SVC.NS.svc.<zone>`: A/AAAA of one endpoint of a headless service (LABEL is the
//!   endpoint's hostname or dashed IP, the SRV targets);
//! - the zone apex: SOA.
//!
//! Anything else inside a zone is NXDOMAIN with the zone's SOA; an existing name asked for
//! another type is NODATA (NOERROR, no answers, SOA); names outside are REFUSED.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::records::{Backend, PortSpec, Target, Zone, lookup};
use crate::cluster::Cluster;

/// TTL of every record served.
pub const TTL: u32 = 5;

/// How many CNAMEs are followed inside our zones.
const MAX_CHASE: usize = 8;

/// The response to one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// NOERROR, NXDOMAIN, REFUSED (outside our zones) or FORMERR (unparsable name).
    pub rcode: ResponseCode,
    /// Whether the name is in one of our zones (the AA bit).
    pub authoritative: bool,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (the zone's SOA on NXDOMAIN/NODATA).
    pub authorities: Vec<Record>,
    /// Additional section (addresses of SRV targets).
    pub additionals: Vec<Record>,
}

impl Answer {
    fn rcode(rcode: ResponseCode, authoritative: bool) -> Self {
        Self {
            rcode,
            authoritative,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    fn negative(cluster: &Cluster, zone: Zone, rcode: ResponseCode) -> Self {
        let mut a = Self::rcode(rcode, true);
        a.authorities.extend(soa(cluster, zone));
        a
    }

    fn records(cluster: &Cluster, zone: Zone, answers: Vec<Record>, extra: Vec<Record>) -> Self {
        if answers.is_empty() {
            return Self::negative(cluster, zone, ResponseCode::NoError);
        }
        let mut a = Self::rcode(ResponseCode::NoError, true);
        a.answers = answers;
        a.additionals = extra;
        a
    }

    /// The addresses in the answer section (A and AAAA), in order.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect()
    }
}

/// The shape of a name inside one of our zones.
enum Shape<'a> {
    Apex,
    Service {
        svc: &'a str,
        ns: &'a str,
    },
    Port {
        port: &'a str,
        proto: &'a str,
        svc: &'a str,
        ns: &'a str,
    },
    Endpoint {
        label: &'a str,
        svc: &'a str,
        ns: &'a str,
    },
    Missing,
}

/// Answers one question about `name` (with or without the trailing dot, any case).
pub fn answer(cluster: &Cluster, name: &str, qtype: RecordType) -> Answer {
    answer_at(cluster, name, qtype, 0)
}

fn answer_at(cluster: &Cluster, name: &str, qtype: RecordType, depth: usize) -> Answer {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = lower.split('.').collect();
    let Some((zone, shape)) = parse(&labels) else {
        return Answer::rcode(ResponseCode::Refused, false);
    };
    let Some(owner) = fqdn(&lower) else {
        return Answer::rcode(ResponseCode::FormErr, false);
    };
    let q = Question {
        cluster,
        zone,
        owner,
        qtype,
    };
    match shape {
        Shape::Apex => q.apex(),
        Shape::Missing => Answer::negative(cluster, zone, ResponseCode::NXDomain),
        Shape::Service { svc, ns } => match lookup(cluster, zone, ns, svc) {
            Some(Target::Alias(to)) => q.alias(&to, depth),
            Some(target) => q.service(&target, svc, ns),
            None => Answer::negative(cluster, zone, ResponseCode::NXDomain),
        },
        Shape::Port {
            port,
            proto,
            svc,
            ns,
        } => match lookup(cluster, zone, ns, svc) {
            Some(target) => q.port(&target, (port, proto), svc, ns),
            None => Answer::negative(cluster, zone, ResponseCode::NXDomain),
        },
        Shape::Endpoint { label, svc, ns } => match lookup(cluster, zone, ns, svc) {
            Some(Target::Headless { backends, .. }) => q.endpoint(&backends, label),
            _ => Answer::negative(cluster, zone, ResponseCode::NXDomain),
        },
    }
}

/// Splits a lowercase name (no trailing dot) into zone and shape; `None` outside our zones.
fn parse<'a>(labels: &[&'a str]) -> Option<(Zone, Shape<'a>)> {
    let (zone, rest) = match labels {
        [rest @ .., "cluster", "local"] => (Zone::Cluster, rest),
        [rest @ .., "clusterset", "local"] => (Zone::ClusterSet, rest),
        _ => return None,
    };
    let shape = match *rest {
        [] => Shape::Apex,
        [svc, ns, "svc"] => Shape::Service { svc, ns },
        [port, proto, svc, ns, "svc"] if port.starts_with('_') && proto.starts_with('_') => {
            Shape::Port {
                port: &port[1..],
                proto: &proto[1..],
                svc,
                ns,
            }
        }
        [label, svc, ns, "svc"] => Shape::Endpoint { label, svc, ns },
        _ => Shape::Missing,
    };
    Some((zone, shape))
}

/// One question being answered.
struct Question<'c> {
    cluster: &'c Cluster,
    zone: Zone,
    owner: Name,
    qtype: RecordType,
}

impl Question<'_> {
    fn apex(&self) -> Answer {
        if self.qtype == RecordType::SOA {
            let soa = soa(self.cluster, self.zone);
            return Answer::records(self.cluster, self.zone, soa, Vec::new());
        }
        Answer::negative(self.cluster, self.zone, ResponseCode::NoError)
    }

    /// ExternalName: the CNAME, followed by the target's records when it is in our zones.
    fn alias(&self, to: &str, depth: usize) -> Answer {
        let Some(target) = fqdn(to) else {
            return Answer::negative(self.cluster, self.zone, ResponseCode::NoError);
        };
        let cname = record(&self.owner, RData::CNAME(CNAME(target)));
        let mut out = Answer::rcode(ResponseCode::NoError, true);
        out.answers.push(cname);
        if self.qtype == RecordType::CNAME || depth >= MAX_CHASE {
            return out;
        }
        let rest = answer_at(self.cluster, to, self.qtype, depth + 1);
        if rest.rcode == ResponseCode::Refused {
            return out;
        }
        out.rcode = rest.rcode;
        out.answers.extend(rest.answers);
        out.authorities = rest.authorities;
        out.additionals = rest.additionals;
        out
    }

    /// `SVC.NS.svc.<zone>`.
    fn service(&self, target: &Target, svc: &str, ns: &str) -> Answer {
        let (answers, extra) = match (target, self.qtype) {
            (Target::Virtual { ips, .. }, t) if is_address(t) => {
                (self.addrs(&self.owner, ips), vec![])
            }
            (Target::Headless { backends, .. }, t) if is_address(t) => {
                let ips: Vec<IpAddr> = backends.iter().map(|b| b.ip).collect();
                (self.addrs(&self.owner, &ips), vec![])
            }
            (_, RecordType::SRV) => self.srv(target, svc, ns, |_| true),
            _ => (vec![], vec![]),
        };
        Answer::records(self.cluster, self.zone, answers, extra)
    }

    /// `_PORT._PROTO.SVC.NS.svc.<zone>`.
    fn port(&self, target: &Target, (port, proto): (&str, &str), svc: &str, ns: &str) -> Answer {
        let matches = |p: &PortSpec| p.name == port && p.proto == proto;
        let exists = match target {
            Target::Virtual { ports, .. } => ports.iter().any(matches),
            Target::Headless { backends, ports } => {
                ports.iter().any(matches) || backends.iter().any(|b| b.ports.iter().any(matches))
            }
            Target::Alias(_) => false,
        };
        if !exists {
            return Answer::negative(self.cluster, self.zone, ResponseCode::NXDomain);
        }
        let (answers, extra) = match self.qtype {
            RecordType::SRV => self.srv(target, svc, ns, matches),
            _ => (vec![], vec![]),
        };
        Answer::records(self.cluster, self.zone, answers, extra)
    }

    /// `LABEL.SVC.NS.svc.<zone>` of a headless service.
    fn endpoint(&self, backends: &[Backend], label: &str) -> Answer {
        let ips: Vec<IpAddr> = backends
            .iter()
            .filter(|b| b.label == label)
            .map(|b| b.ip)
            .collect();
        if ips.is_empty() {
            return Answer::negative(self.cluster, self.zone, ResponseCode::NXDomain);
        }
        let answers = match self.qtype {
            t if is_address(t) => self.addrs(&self.owner, &ips),
            _ => vec![],
        };
        Answer::records(self.cluster, self.zone, answers, vec![])
    }

    /// SRV records of the ports passing `keep`, with the targets' addresses as additionals.
    fn srv(
        &self,
        target: &Target,
        svc: &str,
        ns: &str,
        keep: impl Fn(&PortSpec) -> bool,
    ) -> (Vec<Record>, Vec<Record>) {
        let base = format!("{svc}.{ns}.svc.{}", self.zone.name());
        let (mut answers, mut extra) = (Vec::new(), Vec::new());
        let mut add = |host: &str, ip: &[IpAddr], ports: &[PortSpec]| {
            let Some(name) = fqdn(host) else { return };
            let mut any = false;
            for p in ports.iter().filter(|p| keep(p)) {
                let srv = SRV::new(0, 100, p.port, name.clone());
                answers.push(record(&self.owner, RData::SRV(srv)));
                any = true;
            }
            if any {
                extra.extend(self.addrs_of(&name, ip, RecordType::ANY));
            }
        };
        match target {
            Target::Virtual { ips, ports } => add(&base, ips, ports),
            Target::Headless { backends, .. } => {
                for b in backends {
                    add(&format!("{}.{base}", b.label), &[b.ip], &b.ports);
                }
            }
            Target::Alias(_) => {}
        }
        (answers, extra)
    }

    fn addrs(&self, owner: &Name, ips: &[IpAddr]) -> Vec<Record> {
        self.addrs_of(owner, ips, self.qtype)
    }

    /// A (and/or AAAA) records of `ips` for `qtype` (`ANY`: both).
    fn addrs_of(&self, owner: &Name, ips: &[IpAddr], qtype: RecordType) -> Vec<Record> {
        ips.iter()
            .filter_map(|ip| match (ip, qtype) {
                (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => Some(RData::A(A(*v4))),
                (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => {
                    Some(RData::AAAA(AAAA(*v6)))
                }
                _ => None,
            })
            .map(|data| record(owner, data))
            .collect()
    }
}

fn is_address(t: RecordType) -> bool {
    matches!(t, RecordType::A | RecordType::AAAA | RecordType::ANY)
}

fn record(owner: &Name, data: RData) -> Record {
    Record::from_rdata(owner.clone(), TTL, data)
}

/// `name` (no trailing dot) as a fully qualified name.
fn fqdn(name: &str) -> Option<Name> {
    Name::from_ascii(format!("{name}.")).ok()
}

/// The zone's SOA record (serial: the store's resourceVersion), as CoreDNS shapes it.
fn soa(cluster: &Cluster, zone: Zone) -> Vec<Record> {
    let z = zone.name();
    let (Some(apex), Some(mname), Some(rname)) = (
        fqdn(z),
        fqdn(&format!("ns.dns.{z}")),
        fqdn(&format!("hostmaster.{z}")),
    ) else {
        return Vec::new();
    };
    let serial = u32::try_from(cluster.store.current_rv()).unwrap_or(u32::MAX);
    let data = SOA::new(mname, rname, serial, 7200, 1800, 86400, TTL);
    vec![record(&apex, RData::SOA(data))]
}

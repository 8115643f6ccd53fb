//! The record logic: one question (name, type) → the response code and the answer,
//! authority and additional sections, computed from the live store. No sockets here.
//!
//! The server plays the kubeadm/kind CoreDNS (`kubernetes cluster.local in-addr.arpa
//! ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa; ttl 30 }`) and, when the
//! upstream MCS API is served, CoreDNS's `multicluster clusterset.local` plugin, with no
//! upstream behind them (the fleet has no egress). Names served (case-insensitive; the
//! owner names echo the question's case as CoreDNS does):
//! - `SVC.NS.svc.<zone>`: A/AAAA (VIPs, or ready endpoint IPs when headless), CNAME for an
//!   ExternalName Service (chased when the target is in our zones), SRV for every port;
//! - `_PORT._PROTO.SVC.NS.svc.<zone>`: SRV (and A/AAAA) for that port;
//! - `LABEL.SVC.NS.svc.cluster.local`: one endpoint (LABEL: its hostname or dashed IP);
//! - `LABEL.CLUSTERID.SVC.NS.svc.clusterset.local`: one endpoint of one cluster (KEP-1645);
//! - `A-B-C-D.NS.pod.cluster.local`: the IP in the name (`pods insecure`);
//! - `dns-version.<zone>` TXT, SOA (any name of `cluster.local`; the `clusterset.local`
//!   apex), `cluster.local` NS `ns.dns.cluster.local`;
//! - PTR in `in-addr.arpa`/`ip6.arpa` for Service ClusterIPs and endpoint IPs.
//!
//! Anything else inside a zone is NXDOMAIN with the zone's SOA; an existing name asked for
//! another type is NODATA (NOERROR, no answers, SOA). Names outside every zone, and reverse
//! names no Service or endpoint has, go to the next plugin, and there is none: SERVFAIL
//! (CoreDNS `plugin.NextOrFailure`: "no next plugin found" → `dns.RcodeServerFailure`).

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::records::{Kind, Target, Zone, lookup, namespace_exists, serves_upstream_mcs};
use super::services::{self, Request};
use crate::cluster::Cluster;

/// How many CNAMEs are followed inside our zones (CoreDNS stops after 8 records).
const MAX_CHASE: usize = 8;
/// TTL of the `dns-version` TXT records (CoreDNS `kubernetes` and `multicluster`).
const VERSION_TTL: u32 = 28800;
/// The schema version CoreDNS answers in `dns-version.<zone>` (`DNSSchemaVersion`, in both
/// plugins; the multicluster DNS spec of KEP-1645 §1 calls its own schema 1.0.0).
const SCHEMA_VERSION: &str = "1.1.0";

/// The response to one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// NOERROR, NXDOMAIN, SERVFAIL (nobody serves the name) or FORMERR (unparsable name).
    pub rcode: ResponseCode,
    /// Whether the name is in one of our zones (the AA bit).
    pub authoritative: bool,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (the zone's SOA on NXDOMAIN/NODATA).
    pub authorities: Vec<Record>,
    /// Additional section (addresses of SRV and NS targets).
    pub additionals: Vec<Record>,
}

impl Answer {
    pub(super) fn rcode(rcode: ResponseCode, authoritative: bool) -> Self {
        Self {
            rcode,
            authoritative,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
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

/// The shape of a name inside one of our forward zones.
enum Shape<'a> {
    Apex,
    DnsVersion,
    /// `ns.dns.<zone>`: the DNS server's own address.
    NsHost,
    /// `svc.<zone>` / `pod.<zone>`.
    Kind,
    Namespace(&'a str),
    Service {
        svc: &'a str,
        ns: &'a str,
        r: Request<'a>,
    },
    Pod {
        name: &'a str,
        ns: &'a str,
    },
    Missing,
}

/// Answers one question about `name` (with or without the trailing dot, any case).
pub fn answer(cluster: &Cluster, name: &str, qtype: RecordType) -> Answer {
    answer_at(cluster, name, qtype, 0)
}

fn answer_at(cluster: &Cluster, name: &str, qtype: RecordType, depth: usize) -> Answer {
    let given = name.trim_end_matches('.');
    let lower = given.to_ascii_lowercase();
    let labels: Vec<&str> = lower.split('.').collect();
    let Some(owner) = fqdn(given) else {
        return Answer::rcode(ResponseCode::FormErr, false);
    };
    let ttl = cluster.dns.ttl();
    if let Some(ip) = super::reverse::address_of(&labels) {
        return super::reverse::answer(cluster, &owner, ip, qtype, ttl);
    }
    let Some((zone, shape)) = parse(&labels) else {
        return Answer::rcode(ResponseCode::ServFail, false);
    };
    let multicluster = zone == Zone::ClusterSet && serves_upstream_mcs(cluster);
    // The zone as the question spells it (CoreDNS keeps the query's case).
    let zone_text = given
        .get(given.len() - zone.name().len()..)
        .unwrap_or(zone.name())
        .to_string();
    let q = Question {
        cluster,
        zone,
        zone_text,
        owner,
        qtype,
        ttl,
        multicluster,
    };
    let ns_exists = |ns: &str| namespace_exists(cluster, ns);
    // CoreDNS's `Services` answers TXT only for `dns-version`: NODATA for any other name.
    if qtype == RecordType::TXT && !matches!(shape, Shape::DnsVersion) {
        return q.nodata();
    }
    // The kubernetes plugin answers SOA with the zone's SOA for any name in its zone
    // (`plugin.SOA`); the multicluster plugin has no SOA case (NODATA/NXDOMAIN below).
    if qtype == RecordType::SOA && zone == Zone::Cluster {
        return q.records(q.soa(), Vec::new());
    }
    match shape {
        Shape::Apex => q.apex(),
        Shape::DnsVersion if zone == Zone::Cluster || multicluster => q.dns_version(),
        Shape::NsHost if zone == Zone::Cluster => q.ns_host(),
        Shape::Kind => q.nodata(),
        Shape::Namespace(ns) if ns_exists(ns) => q.nodata(),
        Shape::Pod { name, ns } if zone == Zone::Cluster && ns_exists(ns) => q.pod(name),
        Shape::Service { svc, ns, r } if ns_exists(ns) => match lookup(cluster, zone, ns, svc) {
            Some(target) => q.service(&target, svc, ns, &r, depth),
            None => q.nxdomain(),
        },
        _ => q.nxdomain(),
    }
}

/// Splits a lowercase forward name (no trailing dot) into zone and shape; `None` outside
/// our zones. Follows CoreDNS's `parseRequest`: five labels before `svc` are
/// `_port._proto` in `cluster.local` (underscores optional) and `endpoint.clusterid` in a
/// multicluster zone unless one of them starts with `_`.
fn parse<'a>(labels: &[&'a str]) -> Option<(Zone, Shape<'a>)> {
    let (zone, rest) = match labels {
        [rest @ .., "cluster", "local"] => (Zone::Cluster, rest),
        [rest @ .., "clusterset", "local"] => (Zone::ClusterSet, rest),
        _ => return None,
    };
    let strip = |s: &'a str| s.strip_prefix('_').unwrap_or(s);
    let shape = match *rest {
        [] => Shape::Apex,
        ["dns-version"] => Shape::DnsVersion,
        ["ns", "dns"] => Shape::NsHost,
        ["svc"] | ["pod"] => Shape::Kind,
        [ns, "svc" | "pod"] => Shape::Namespace(ns),
        [name, ns, "pod"] => Shape::Pod { name, ns },
        [svc, ns, "svc"] => Shape::Service {
            svc,
            ns,
            r: Request::default(),
        },
        [endpoint, svc, ns, "svc"] => {
            let r = Request {
                endpoint: Some(endpoint),
                // A multicluster endpoint name without its cluster id matches no endpoint.
                cluster: (zone == Zone::ClusterSet).then_some(""),
                ..Request::default()
            };
            Shape::Service { svc, ns, r }
        }
        [a, b, svc, ns, "svc"] => {
            let ports = zone == Zone::Cluster || a.starts_with('_') || b.starts_with('_');
            let r = match ports {
                true => Request {
                    port: Some(strip(a)),
                    proto: Some(strip(b)),
                    ..Request::default()
                },
                false => Request {
                    endpoint: Some(a),
                    cluster: Some(b),
                    ..Request::default()
                },
            };
            Shape::Service { svc, ns, r }
        }
        _ => Shape::Missing,
    };
    Some((zone, shape))
}

/// One question being answered.
struct Question<'c> {
    cluster: &'c Cluster,
    zone: Zone,
    zone_text: String,
    owner: Name,
    qtype: RecordType,
    ttl: u32,
    multicluster: bool,
}

impl Question<'_> {
    fn negative(&self, rcode: ResponseCode) -> Answer {
        let mut a = Answer::rcode(rcode, true);
        a.authorities.extend(self.soa());
        a
    }

    fn nxdomain(&self) -> Answer {
        self.negative(ResponseCode::NXDomain)
    }

    fn nodata(&self) -> Answer {
        self.negative(ResponseCode::NoError)
    }

    fn records(&self, answers: Vec<Record>, extra: Vec<Record>) -> Answer {
        if answers.is_empty() {
            return self.nodata();
        }
        let mut a = Answer::rcode(ResponseCode::NoError, true);
        a.answers = answers;
        a.additionals = extra;
        a
    }

    fn record(&self, owner: &Name, data: RData) -> Record {
        Record::from_rdata(owner.clone(), self.ttl, data)
    }

    /// `name` (no zone, lowercase) in our zone, spelled like the question's zone.
    fn in_zone(&self, name: &str) -> Option<Name> {
        fqdn(&format!("{name}.{}", self.zone_text))
    }

    fn apex(&self) -> Answer {
        match self.qtype {
            RecordType::SOA => self.records(self.soa(), Vec::new()),
            RecordType::NS if self.zone == Zone::Cluster => {
                let Some(host) = self.in_zone("ns.dns") else {
                    return self.nodata();
                };
                let ns = self.record(&self.owner, RData::NS(NS(host.clone())));
                let a = self.record(&host, RData::A(A(self.cluster.plan.dns_ip())));
                self.records(vec![ns], vec![a])
            }
            _ => self.nodata(),
        }
    }

    fn dns_version(&self) -> Answer {
        if self.qtype != RecordType::TXT {
            return self.nxdomain();
        }
        let txt = RData::TXT(TXT::new(vec![SCHEMA_VERSION.to_string()]));
        let record = Record::from_rdata(self.owner.clone(), VERSION_TTL, txt);
        self.records(vec![record], Vec::new())
    }

    /// `ns.dns.cluster.local`: the address the server answers on (kube-dns' ClusterIP).
    fn ns_host(&self) -> Answer {
        let a = RData::A(A(self.cluster.plan.dns_ip()));
        match self.qtype {
            RecordType::A => self.records(vec![self.record(&self.owner, a)], Vec::new()),
            _ => self.nodata(),
        }
    }

    /// `pods insecure`: `a-b-c-d.NS.pod.<zone>` answers the address in its name, unchecked.
    fn pod(&self, name: &str) -> Answer {
        let text = if name.matches('-').count() == 3 && !name.contains("--") {
            name.replace('-', ".")
        } else {
            name.replace('-', ":")
        };
        let Ok(ip) = text.parse::<IpAddr>() else {
            return self.nxdomain();
        };
        let data = match (ip, self.qtype) {
            (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
            (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
            _ => return self.nodata(),
        };
        self.records(vec![self.record(&self.owner, data)], Vec::new())
    }

    /// A service name with what the request adds (port, endpoint, cluster id).
    fn service(&self, t: &Target, svc: &str, ns: &str, r: &Request<'_>, depth: usize) -> Answer {
        let base = format!("{svc}.{ns}.svc");
        let (entries, found) = services::entries(t, &base, r, self.multicluster);
        if !found {
            return self.nxdomain();
        }
        match (&t.kind, self.qtype) {
            (Kind::Alias(to), RecordType::CNAME) => self.cname(to),
            (Kind::Alias(to), RecordType::A | RecordType::AAAA) => self.alias(to, depth),
            (_, RecordType::A | RecordType::AAAA) => {
                let v6 = self.qtype == RecordType::AAAA;
                let ips = services::addresses(&entries, v6);
                let answers = ips
                    .iter()
                    .map(|ip| self.address(&self.owner, *ip))
                    .collect();
                self.records(answers, Vec::new())
            }
            (_, RecordType::SRV) => {
                let (srvs, extra) = services::srv(&entries);
                let mut answers = Vec::new();
                for s in srvs {
                    if let Some(target) = self.in_zone(&s.target) {
                        let data = SRV::new(0, s.weight, s.port, target);
                        answers.push(self.record(&self.owner, RData::SRV(data)));
                    }
                }
                let extra = extra
                    .iter()
                    .filter_map(|(host, ip)| Some(self.address(&self.in_zone(host)?, *ip)))
                    .collect();
                self.records(answers, extra)
            }
            _ => self.nodata(),
        }
    }

    fn address(&self, owner: &Name, ip: IpAddr) -> Record {
        let data = match ip {
            IpAddr::V4(v4) => RData::A(A(v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
        };
        self.record(owner, data)
    }

    fn cname(&self, to: &str) -> Answer {
        match fqdn(to) {
            Some(target) => {
                let cname = self.record(&self.owner, RData::CNAME(CNAME(target)));
                self.records(vec![cname], Vec::new())
            }
            None => self.nodata(),
        }
    }

    /// ExternalName asked for addresses: inside our zones, the CNAME and the target's
    /// records when the target has some (else NODATA, as CoreDNS's `plugin.A`); outside,
    /// the CNAME alone (the upstream lookup CoreDNS would make has nobody to ask).
    fn alias(&self, to: &str, depth: usize) -> Answer {
        let Some(target) = fqdn(to) else {
            return self.nodata();
        };
        let cname = self.record(&self.owner, RData::CNAME(CNAME(target)));
        let inside = to.ends_with(".cluster.local") || to.ends_with(".clusterset.local");
        if !inside {
            return self.records(vec![cname], Vec::new());
        }
        if depth >= MAX_CHASE {
            return self.nodata();
        }
        let rest = answer_at(self.cluster, to, self.qtype, depth + 1);
        if rest.rcode != ResponseCode::NoError || rest.answers.is_empty() {
            return self.nodata();
        }
        let mut out = self.records(vec![cname], rest.additionals);
        out.answers.extend(rest.answers);
        out
    }

    /// The zone's SOA record (serial: the store's resourceVersion), as CoreDNS shapes it:
    /// TTL and minimum both the plugin's TTL (at most 300 for the TTL).
    fn soa(&self) -> Vec<Record> {
        let (Some(apex), Some(mname), Some(rname)) = (
            fqdn(&self.zone_text),
            self.in_zone("ns.dns"),
            self.in_zone("hostmaster"),
        ) else {
            return Vec::new();
        };
        let serial = u32::try_from(self.cluster.store.current_rv()).unwrap_or(u32::MAX);
        let data = SOA::new(mname, rname, serial, 7200, 1800, 86400, self.ttl);
        vec![Record::from_rdata(
            apex,
            self.ttl.min(300),
            RData::SOA(data),
        )]
    }
}

/// `name` (no trailing dot) as a fully qualified name.
pub(super) fn fqdn(name: &str) -> Option<Name> {
    Name::from_ascii(format!("{name}.")).ok()
}

//! What DNS needs to know about one service, read from the store: a Service (+ its
//! `Endpoints`) for `cluster.local`, a ServiceImport (+ its EndpointSlices) for
//! `clusterset.local`. Only ready endpoints are kept; IPs that do not parse are skipped.
//!
//! Endpoints stay grouped as CoreDNS's informers see them (one group per `Endpoints`
//! subset or per EndpointSlice), because CoreDNS computes SRV weights over every
//! (address, port) pair before it drops duplicates (see `services.rs`).

use std::net::IpAddr;

use serde_json::Value;

use crate::cluster::Cluster;
use crate::store::{Meta, ObjKey, ResKey};

/// Label naming the service of an EndpointSlice imported through MCS.
pub(crate) const MCS_SERVICE_LABEL: &str = "multicluster.kubernetes.io/service-name";
/// Label naming the cluster an imported EndpointSlice comes from: the cluster id of
/// `<hostname>.<clusterid>.<svc>.<ns>.svc.clusterset.local` (CoreDNS's multicluster plugin
/// reads it, `object/endpoint.go` `LabelClusterId`; mcs-api sets it to the source cluster's
/// `cluster.clusterset.k8s.io` ClusterProperty).
pub(crate) const MCS_SOURCE_CLUSTER_LABEL: &str = "multicluster.kubernetes.io/source-cluster";

/// Annotation of a GKE ServiceImport naming its derived Service.
const GKE_DERIVED_ANNOTATION: &str = "net.gke.io/derived-service";

/// ServiceImport groups, in order of preference.
const IMPORT_GROUPS: [&str; 2] = ["net.gke.io", "multicluster.x-k8s.io"];

/// The forward zones served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Zone {
    /// `cluster.local`: Services.
    Cluster,
    /// `clusterset.local`: ServiceImports.
    ClusterSet,
}

impl Zone {
    /// The zone's name without the trailing dot.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Zone::Cluster => "cluster.local",
            Zone::ClusterSet => "clusterset.local",
        }
    }
}

/// One port of a service or of an endpoint group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortSpec {
    /// Port name, empty when unnamed (lowercase).
    pub name: String,
    /// `tcp`, `udp` or `sctp` (lowercase).
    pub proto: String,
    /// Port number.
    pub port: u16,
}

/// One ready address of an endpoint group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Addr {
    /// Its IP.
    pub ip: IpAddr,
    /// Its DNS label: the endpoint's hostname when set, else the dashed IP (CoreDNS
    /// `endpointHostname`).
    pub label: String,
}

/// The ready addresses of one `Endpoints` subset or one EndpointSlice, with its ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Group {
    /// Source cluster id of an imported slice (empty for `Endpoints`).
    pub cluster: String,
    /// The group's ports; empty means "no ports" (CoreDNS's port -1 sentinel).
    pub ports: Vec<PortSpec>,
    /// Ready addresses.
    pub addrs: Vec<Addr>,
}

/// How a service name resolves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Virtual IPs (ClusterIP Service, ClusterSetIP import; empty while none is allocated).
    Virtual(Vec<IpAddr>),
    /// Headless: the ready endpoints.
    Headless,
    /// ExternalName: an alias (lowercase, no trailing dot).
    Alias(String),
}

/// A Service or ServiceImport as DNS sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// How its own name resolves.
    pub kind: Kind,
    /// The service (or import) ports.
    pub ports: Vec<PortSpec>,
    /// Its ready endpoints, grouped.
    pub groups: Vec<Group>,
}

/// What `SVC.NS.svc.<zone>` resolves to, `None` when there is no such service.
pub(crate) fn lookup(cluster: &Cluster, zone: Zone, ns: &str, svc: &str) -> Option<Target> {
    match zone {
        Zone::Cluster => service(cluster, ns, svc),
        Zone::ClusterSet => service_import(cluster, ns, svc),
    }
}

/// Whether namespace `ns` exists (CoreDNS answers nothing for names in other namespaces).
pub(crate) fn namespace_exists(cluster: &Cluster, ns: &str) -> bool {
    cluster
        .store
        .get(&ResKey::new("", "namespaces"), &ObjKey::new("", ns))
        .is_some()
}

/// Whether the upstream MCS API (`multicluster.x-k8s.io` ServiceImports) is served: the
/// cluster then runs CoreDNS's multicluster plugin for `clusterset.local`.
pub(crate) fn serves_upstream_mcs(cluster: &Cluster) -> bool {
    cluster
        .def_for(&ResKey::new("multicluster.x-k8s.io", "serviceimports"))
        .is_some()
}

fn service(cluster: &Cluster, ns: &str, name: &str) -> Option<Target> {
    let obj = cluster
        .store
        .get(&ResKey::new("", "services"), &ObjKey::new(ns, name))?;
    let spec = &obj["spec"];
    let ports = ports(&spec["ports"]);
    let groups = endpoints_groups(cluster, ns, name);
    if spec["type"].as_str() == Some("ExternalName") {
        let alias = spec["externalName"].as_str().unwrap_or("");
        let alias = alias.trim_end_matches('.').to_ascii_lowercase();
        if !alias.is_empty() {
            let kind = Kind::Alias(alias);
            return Some(Target {
                kind,
                ports,
                groups,
            });
        }
    }
    let kind = if spec["clusterIP"].as_str() == Some("None") {
        Kind::Headless
    } else {
        Kind::Virtual(service_ips(spec))
    };
    Some(Target {
        kind,
        ports,
        groups,
    })
}

/// `spec.clusterIPs`, else `spec.clusterIP`, de-duplicated.
pub(crate) fn service_ips(spec: &Value) -> Vec<IpAddr> {
    match spec["clusterIPs"].as_array() {
        Some(list) if !list.is_empty() => ips(list),
        _ => ips(std::slice::from_ref(&spec["clusterIP"])),
    }
}

fn service_import(cluster: &Cluster, ns: &str, name: &str) -> Option<Target> {
    let key = ObjKey::new(ns, name);
    let (group, obj) = IMPORT_GROUPS.iter().find_map(|g| {
        let obj = cluster.store.get(&ResKey::new(g, "serviceimports"), &key)?;
        Some((*g, obj))
    })?;
    let spec = &obj["spec"];
    let ports = ports(&spec["ports"]);
    // GKE lists the addresses in the derived Service's Endpoints (named by the import's
    // `net.gke.io/derived-service` annotation); upstream in MCS-labelled slices.
    let derived = obj["metadata"]["annotations"][GKE_DERIVED_ANNOTATION]
        .as_str()
        .filter(|_| group == "net.gke.io");
    let groups = match derived {
        Some(d) => endpoints_groups(cluster, ns, d),
        None => slice_groups(cluster, ns, name),
    };
    let kind = match spec["type"].as_str() {
        Some("Headless") => Kind::Headless,
        _ => Kind::Virtual(ips(spec["ips"].as_array().map_or(&[][..], Vec::as_slice))),
    };
    Some(Target {
        kind,
        ports,
        groups,
    })
}

/// Ready addresses of the `Endpoints` object named like the service, one group per subset.
pub(crate) fn endpoints_groups(cluster: &Cluster, ns: &str, name: &str) -> Vec<Group> {
    let res = ResKey::new("", "endpoints");
    match cluster.store.get(&res, &ObjKey::new(ns, name)) {
        Some(obj) => subsets(&obj),
        None => Vec::new(),
    }
}

/// The groups of one `Endpoints` object.
pub(crate) fn subsets(obj: &Value) -> Vec<Group> {
    let mut out = Vec::new();
    for subset in obj["subsets"].as_array().into_iter().flatten() {
        let mut group = Group {
            cluster: String::new(),
            ports: ports(&subset["ports"]),
            addrs: Vec::new(),
        };
        for addr in subset["addresses"].as_array().into_iter().flatten() {
            let hostname = addr["hostname"].as_str().unwrap_or("");
            push_addr(&mut group.addrs, &addr["ip"], hostname);
        }
        out.push(group);
    }
    out
}

/// Ready endpoints of the EndpointSlices labelled with the imported service's name, one
/// group per slice (CoreDNS treats an unset `ready` as ready).
fn slice_groups(cluster: &Cluster, ns: &str, name: &str) -> Vec<Group> {
    let res = ResKey::new("discovery.k8s.io", "endpointslices");
    let labelled = |obj: &Value| {
        Meta(obj)
            .labels()
            .and_then(|l| l.get(MCS_SERVICE_LABEL))
            .and_then(Value::as_str)
            == Some(name)
    };
    let page = cluster.store.list(&res, Some(ns), None, 0, &labelled);
    let mut out = Vec::new();
    for slice in &page.items {
        let cluster = Meta(slice)
            .labels()
            .and_then(|l| l.get(MCS_SOURCE_CLUSTER_LABEL))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut group = Group {
            cluster,
            ports: ports(&slice["ports"]),
            addrs: Vec::new(),
        };
        for ep in slice["endpoints"].as_array().into_iter().flatten() {
            if ep["conditions"]["ready"].as_bool() == Some(false) {
                continue;
            }
            let hostname = ep["hostname"].as_str().unwrap_or("");
            for addr in ep["addresses"].as_array().into_iter().flatten() {
                push_addr(&mut group.addrs, addr, hostname);
            }
        }
        out.push(group);
    }
    out
}

fn push_addr(out: &mut Vec<Addr>, ip: &Value, hostname: &str) {
    let Some(ip) = ip.as_str().and_then(|s| s.parse::<IpAddr>().ok()) else {
        return;
    };
    let label = if hostname.is_empty() {
        dashed(ip)
    } else {
        hostname.to_ascii_lowercase()
    };
    out.push(Addr { ip, label });
}

/// `10.0.0.1` → `10-0-0-1` (IPv6: colons become dashes, a trailing dash gets a `0`), the
/// label CoreDNS's `endpointHostname` uses.
pub(crate) fn dashed(ip: IpAddr) -> String {
    let s = ip.to_string().replace(['.', ':'], "-");
    if s.ends_with('-') { format!("{s}0") } else { s }
}

fn ips(values: &[Value]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for ip in values.iter().filter_map(|v| v.as_str()?.parse().ok()) {
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// `ports[]` of a Service, ServiceImport, Endpoints subset or EndpointSlice.
fn ports(list: &Value) -> Vec<PortSpec> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p["port"].as_u64()?).ok()?;
            Some(PortSpec {
                name: p["name"].as_str().unwrap_or("").to_ascii_lowercase(),
                proto: p["protocol"].as_str().unwrap_or("TCP").to_ascii_lowercase(),
                port,
            })
        })
        .collect()
}

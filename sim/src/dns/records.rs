//! What DNS needs to know about one service, read from the store: a Service (+ its
//! `Endpoints`) for `cluster.local`, a ServiceImport (+ its EndpointSlices) for
//! `clusterset.local`. Only ready endpoints are kept; IPs that do not parse are skipped.

use std::net::IpAddr;

use serde_json::Value;

use crate::cluster::Cluster;
use crate::store::{Meta, ObjKey, ResKey};

/// Label naming the service of an EndpointSlice imported through MCS.
pub(crate) const MCS_SERVICE_LABEL: &str = "multicluster.kubernetes.io/service-name";

/// Annotation of a GKE ServiceImport naming its derived Service.
const GKE_DERIVED_ANNOTATION: &str = "net.gke.io/derived-service";

/// ServiceImport groups, in order of preference.
const IMPORT_GROUPS: [&str; 2] = ["net.gke.io", "multicluster.x-k8s.io"];

/// The two zones served.
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

/// One port of a service or of an endpoint set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortSpec {
    /// Port name, empty when unnamed.
    pub name: String,
    /// `tcp`, `udp` or `sctp` (lowercase).
    pub proto: String,
    /// Port number.
    pub port: u16,
}

/// One ready endpoint of a headless service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backend {
    /// Its IP.
    pub ip: IpAddr,
    /// Its DNS label under the service: the hostname when set, else the dashed IP.
    pub label: String,
    /// The ports it serves.
    pub ports: Vec<PortSpec>,
}

/// What a service name resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// Virtual IPs (ClusterIP Service, ClusterSetIP import) with the service's ports.
    Virtual {
        /// The VIPs (empty while none is allocated).
        ips: Vec<IpAddr>,
        /// The service ports.
        ports: Vec<PortSpec>,
    },
    /// Headless: ready endpoints.
    Headless {
        /// Ready endpoints, one per IP.
        backends: Vec<Backend>,
        /// The service (or import) ports.
        ports: Vec<PortSpec>,
    },
    /// ExternalName: an alias (lowercase, no trailing dot).
    Alias(String),
}

/// What `SVC.NS.svc.<zone>` resolves to, `None` when there is no such service.
pub(crate) fn lookup(cluster: &Cluster, zone: Zone, ns: &str, svc: &str) -> Option<Target> {
    match zone {
        Zone::Cluster => service(cluster, ns, svc),
        Zone::ClusterSet => service_import(cluster, ns, svc),
    }
}

fn service(cluster: &Cluster, ns: &str, name: &str) -> Option<Target> {
    let obj = cluster
        .store
        .get(&ResKey::new("", "services"), &ObjKey::new(ns, name))?;
    let spec = &obj["spec"];
    let ports = ports(&spec["ports"]);
    if spec["type"].as_str() == Some("ExternalName") {
        let alias = spec["externalName"].as_str().unwrap_or("");
        let alias = alias.trim_end_matches('.').to_ascii_lowercase();
        if !alias.is_empty() {
            return Some(Target::Alias(alias));
        }
    }
    if spec["clusterIP"].as_str() == Some("None") {
        let backends = endpoints_backends(cluster, ns, name);
        return Some(Target::Headless { backends, ports });
    }
    let ips = match spec["clusterIPs"].as_array() {
        Some(list) if !list.is_empty() => ips(list),
        _ => ips(std::slice::from_ref(&spec["clusterIP"])),
    };
    Some(Target::Virtual { ips, ports })
}

fn service_import(cluster: &Cluster, ns: &str, name: &str) -> Option<Target> {
    let key = ObjKey::new(ns, name);
    let (group, obj) = IMPORT_GROUPS.iter().find_map(|g| {
        let obj = cluster.store.get(&ResKey::new(g, "serviceimports"), &key)?;
        Some((*g, obj))
    })?;
    let spec = &obj["spec"];
    let ports = ports(&spec["ports"]);
    if spec["type"].as_str() == Some("Headless") {
        // GKE lists the addresses in the derived Service's Endpoints (named by the
        // import's `net.gke.io/derived-service` annotation); upstream in MCS-labelled slices.
        let derived = obj["metadata"]["annotations"][GKE_DERIVED_ANNOTATION]
            .as_str()
            .filter(|_| group == "net.gke.io");
        let backends = match derived {
            Some(d) => endpoints_backends(cluster, ns, d),
            None => slice_backends(cluster, ns, name),
        };
        return Some(Target::Headless { backends, ports });
    }
    let ips = ips(spec["ips"].as_array().map_or(&[][..], Vec::as_slice));
    Some(Target::Virtual { ips, ports })
}

/// Ready addresses of the `Endpoints` object named like the service.
fn endpoints_backends(cluster: &Cluster, ns: &str, name: &str) -> Vec<Backend> {
    let res = ResKey::new("", "endpoints");
    let Some(obj) = cluster.store.get(&res, &ObjKey::new(ns, name)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for subset in obj["subsets"].as_array().into_iter().flatten() {
        let ports = ports(&subset["ports"]);
        for addr in subset["addresses"].as_array().into_iter().flatten() {
            let hostname = addr["hostname"].as_str().unwrap_or("");
            push_backend(&mut out, &addr["ip"], hostname, &ports);
        }
    }
    out
}

/// Ready endpoints of the EndpointSlices labelled with the imported service's name.
fn slice_backends(cluster: &Cluster, ns: &str, name: &str) -> Vec<Backend> {
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
        let ports = ports(&slice["ports"]);
        for ep in slice["endpoints"].as_array().into_iter().flatten() {
            if ep["conditions"]["ready"].as_bool() == Some(false) {
                continue;
            }
            for addr in ep["addresses"].as_array().into_iter().flatten() {
                push_backend(&mut out, addr, "", &ports);
            }
        }
    }
    out
}

/// Adds an endpoint, merging the ports of one already listed with the same IP.
fn push_backend(out: &mut Vec<Backend>, ip: &Value, hostname: &str, ports: &[PortSpec]) {
    let Some(ip) = ip.as_str().and_then(|s| s.parse::<IpAddr>().ok()) else {
        return;
    };
    if let Some(existing) = out.iter_mut().find(|b| b.ip == ip) {
        for p in ports {
            if !existing.ports.contains(p) {
                existing.ports.push(p.clone());
            }
        }
        return;
    }
    let label = if hostname.is_empty() {
        dashed(ip)
    } else {
        hostname.to_ascii_lowercase()
    };
    out.push(Backend {
        ip,
        label,
        ports: ports.to_vec(),
    });
}

/// `10.0.0.1` → `10-0-0-1` (IPv6: colons become dashes), the label CoreDNS uses.
pub(crate) fn dashed(ip: IpAddr) -> String {
    ip.to_string().replace(['.', ':'], "-")
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
